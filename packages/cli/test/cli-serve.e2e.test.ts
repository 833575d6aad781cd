import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { collect, inspectStore, runCli, spawnCli, tempDir } from './cli-harness.js';

/** Start `serve` and resolve with its URL once it prints it. */
function startServe(args: string[], cwd: string) {
  const child = spawnCli(['serve', '--port', '0', ...args], { cwd });
  const result = collect(child);
  const url = new Promise<string>((resolve, reject) => {
    let seen = '';
    child.stdout.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(seen);
      if (match) resolve(match[1]!);
    });
    child.on('exit', (code) => reject(new Error(`serve exited with ${code}: ${seen}`)));
  });
  return { child, result, url };
}

describe('eventfabric serve (the built CLI as a child process)', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const cleanup of cleanups.splice(0)) cleanup();
  });

  it('given no flags, then it serves the embedded default, prints its URLs, and exits 0 on SIGTERM after closing the store', async () => {
    const { dir, remove } = tempDir();
    cleanups.push(remove);
    const child = spawnCli(['serve', '--port', '0'], { cwd: dir });
    cleanups.push(() => child.kill('SIGKILL'));
    const result = collect(child);
    const url = await new Promise<string>((resolve, reject) => {
      let seen = '';
      child.stdout.on('data', (chunk: Buffer) => {
        seen += chunk.toString();
        const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(seen);
        if (match) resolve(match[1]!);
      });
      child.on('exit', (code) => reject(new Error(`serve exited with ${code}: ${seen}`)));
    });

    const published = await fetch(`${url}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents+json' },
      body: JSON.stringify({
        specversion: '1.0',
        id: 'e2e-1',
        type: 'shop.order.placed.v1',
        source: '/shop',
        subject: 'order-1',
        data: { amount: 1 },
      }),
    });
    const ready = await fetch(`${url}/readyz`);
    const read = await fetch(`${url}/v1/streams/order-1`);
    child.kill('SIGTERM');
    const { code, stdout, stderr } = await result;

    expect(published.status).toBe(201);
    expect(await published.json()).toEqual({ positions: ['1'], duplicates: 0 });
    expect(ready.status).toBe(200);
    expect(((await read.json()) as { events: { id: string }[] }).events.map((e) => e.id)).toEqual([
      'e2e-1',
    ]);
    expect(code).toBe(0);
    const store = join(dir, '.eventfabric/eventfabric.db');
    expect(stdout).toContain(`EventFabric server listening on ${url} (store sqlite:${store})`);
    expect(stdout).toContain(`publish   POST ${url}/v1/events`);
    const logs = stderr
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { msg: string; level: number });
    expect(logs.map((l) => l.msg)).toEqual(
      expect.arrayContaining([
        'no API keys configured: the server is open, and bound to loopback only',
        'shutting down: no new connections, draining requests in flight',
        'stopped',
      ]),
    );
    expect(await inspectStore(store, 'order-1')).toEqual({ head: '1', streamVersion: 0 });
  });

  it('given a host that is not loopback, then it refuses with INVALID_CONFIG (exit 1) and listens nowhere', async () => {
    const { dir, remove } = tempDir();
    cleanups.push(remove);

    const result = await runCli(['serve', '--host', '0.0.0.0', '--json'], { cwd: dir });

    expect(result.code).toBe(1);
    expect(JSON.parse(result.stderr)).toEqual({
      error: {
        code: 'INVALID_CONFIG',
        message:
          '--host 0.0.0.0 is not a loopback address: with no API keys configured the server is ' +
          'open, so it binds 127.0.0.1, ::1 or localhost only',
        details: { host: '0.0.0.0' },
      },
    });
  });

  it('given a port that is not a number, then it is a usage error (exit 2)', async () => {
    const { dir, remove } = tempDir();
    cleanups.push(remove);

    const result = await runCli(['serve', '--port', 'http'], { cwd: dir });

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      "error [INVALID_ARGUMENT]: option '-p, --port <port>' argument 'http' is invalid. expected a port from 0 to 65535\n" +
        '  help: eventfabric serve --help\n',
    );
  });

  it('given a key created with eventfabric keys, then /v1 needs it, acts as its tenant, and a revoked key stops working', async () => {
    const { dir, remove } = tempDir();
    cleanups.push(remove);
    const created = await runCli(
      [
        'keys',
        'create',
        '--tenant',
        'acme',
        '--scope',
        'publish:shop.*',
        '--scope',
        'read:*',
        '--json',
      ],
      { cwd: dir },
    );
    const key = JSON.parse(created.stdout) as { id: string; key: string; tenant: string };
    const serve = startServe([], dir);
    cleanups.push(() => serve.child.kill('SIGKILL'));
    const url = await serve.url;
    const publish = (authorization?: string) =>
      fetch(`${url}/v1/events`, {
        method: 'POST',
        headers: {
          'content-type': 'application/cloudevents+json',
          ...(authorization ? { authorization } : {}),
        },
        body: JSON.stringify({
          specversion: '1.0',
          id: `k-${authorization ?? 'none'}`,
          type: 'shop.order.placed.v1',
          source: '/shop',
          subject: 'order-1',
          data: {},
        }),
      });

    const anonymous = await publish();
    const withKey = await publish(`Bearer ${key.key}`);
    const read = await fetch(`${url}/v1/streams/order-1`, {
      headers: { authorization: `Bearer ${key.key}` },
    });
    const revoked = await runCli(['keys', 'revoke', key.id], { cwd: dir });
    const afterRevoke = await publish(`Bearer ${key.key}`);
    serve.child.kill('SIGTERM');
    const { code, stderr } = await serve.result;

    expect(created.code).toBe(0);
    expect(key.tenant).toBe('acme');
    expect(key.key).toMatch(/^ef_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    expect(anonymous.status).toBe(401);
    expect(withKey.status).toBe(201);
    expect(
      ((await read.json()) as { events: { tenantid: string }[] }).events.map((e) => e.tenantid),
    ).toEqual(['acme']);
    expect(revoked.stdout).toBe(`revoked key ${key.id} of tenant acme\n`);
    expect(afterRevoke.status).toBe(401);
    expect(code).toBe(0);
    expect(stderr).toContain('"msg":"API keys required on /v1"');
    const listed = await runCli(['keys', 'list', '--json'], { cwd: dir });
    const [record] = listed.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(Object.keys(record!).sort()).toEqual([
      'createdAt',
      'id',
      'revokedAt',
      'scopes',
      'tenant',
    ]);
    expect(listed.stdout).not.toContain(key.key.slice(20));
  });

  it('given a bad scope, then keys create fails with INVALID_ARGUMENT and writes no key', async () => {
    const { dir, remove } = tempDir();
    cleanups.push(remove);

    const result = await runCli(['keys', 'create', '--tenant', 'acme', '--scope', 'write:*'], {
      cwd: dir,
    });
    const listed = await runCli(['keys', 'list'], { cwd: dir });

    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      'error [INVALID_ARGUMENT]: scope "write:*" must be admin, publish:<type-pattern> or read:<type-pattern>\n' +
        '  scope: write:*\n',
    );
    expect(listed.stdout).toBe('no API keys: eventfabric serve runs open, on loopback only\n');
  });
});
