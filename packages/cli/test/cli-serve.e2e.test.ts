import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { collect, inspectStore, runCli, spawnCli, tempDir } from './cli-harness.js';

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
});
