import { PassThrough } from 'node:stream';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main, type CliIo } from '../src/index.js';
import { tempDir } from './cli-harness.js';

async function cli(args: string[]) {
  const io: CliIo = {
    stdin: new PassThrough(),
    stdout: new PassThrough(),
    stderr: new PassThrough(),
  };
  (io.stdin as PassThrough).end('');
  const code = await main(['node', 'eventfabric', ...args], io);
  const text = (stream: unknown) =>
    ((stream as PassThrough).read() as Buffer | null)?.toString() ?? '';
  return { code, stdout: text(io.stdout), stderr: text(io.stderr) };
}

describe('eventfabric webhooks', () => {
  let dir: { dir: string; remove: () => void };
  let store: string;

  beforeEach(() => {
    dir = tempDir();
    store = `sqlite:${join(dir.dir, 'store.db')}`;
  });
  afterEach(() => dir.remove());

  const json = async (args: string[]) => {
    const result = await cli(['--store', store, '--json', 'webhooks', ...args]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    return JSON.parse(result.stdout) as Record<string, unknown>;
  };

  it('given create, list, update, rotate-secret, deliveries, recover and delete, then each does its part', async () => {
    const created = await json([
      'create',
      '--url',
      'http://127.0.0.1:9/hook',
      '--type',
      'shop.*',
      '--tenant',
      'acme',
      '--allow',
      '127.0.0.1/32',
    ]);
    expect(created).toMatchObject({ tenant: 'acme', types: ['shop.*'], enabled: true });
    expect(created.secret).toMatch(/^whsec_/);
    const id = created.id as string;
    expect(((await json(['list'])).webhooks as { id: string }[]).map((w) => w.id)).toEqual([id]);
    expect(await json(['list', '--tenant', 'globex'])).toEqual({ webhooks: [] });
    expect(await json(['update', id, '--disable'])).toMatchObject({
      enabled: false,
      disabledReason: 'manual',
    });
    expect(await json(['update', id, '--enable'])).toMatchObject({ enabled: true });
    expect(await json(['rotate-secret', id])).toMatchObject({ signingSecrets: 2 });
    expect(await json(['deliveries', id])).toEqual({ deliveries: [] });
    expect(await json(['attempts', id])).toEqual({ attempts: [] });
    expect(await json(['recover', id, '--since', '2026-01-01T00:00:00Z'])).toEqual({ enqueued: 0 });
    const people = await cli(['--store', store, 'webhooks', 'show', id]);
    expect(people.stdout).toContain(`${id} http://127.0.0.1:9/hook [shop.*] enabled`);
    expect(await json(['delete', id])).toEqual({ deleted: id });
    expect(await json(['list'])).toEqual({ webhooks: [] });
  });

  it('given a private URL without --allow, an unknown id or a bad time, then it fails with the code and stores nothing', async () => {
    const refused = await cli([
      '--store',
      store,
      'webhooks',
      'create',
      '--url',
      'http://10.0.0.1/x',
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /^error \[WEBHOOK_TARGET_REFUSED\]: webhook URL http:\/\/10\.0\.0\.1\/x resolves to 10\.0\.0\.1/,
    );
    const unknown = await cli(['--store', store, 'webhooks', 'show', 'nope']);
    expect([unknown.code, unknown.stderr.split('\n')[0]]).toEqual([
      1,
      'error [NOT_FOUND]: webhook subscription nope not found',
    ]);
    const { id } = await json(['create', '--url', 'https://93.184.216.34/hook']);
    const badTime = await cli([
      '--store',
      store,
      'webhooks',
      'recover',
      id as string,
      '--since',
      'yesterday',
    ]);
    expect([badTime.code, badTime.stderr.split('\n')[0]]).toEqual([
      1,
      'error [INVALID_ARGUMENT]: since must be an RFC 3339 time',
    ]);
    expect(((await json(['list'])).webhooks as unknown[]).length).toBe(1);
  });
});
