import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isEventFabricError } from '@eventfabric/core';
import { DEFAULT_STORE_URL, parseStoreUrl, resolveConfig } from '../src/index.js';
import { tempDir } from './cli-harness.js';

describe('resolveConfig', () => {
  const { dir, remove } = tempDir();
  const withConfig = join(dir, 'with-config');
  mkdirSync(join(withConfig, 'contracts'), { recursive: true });
  writeFileSync(
    join(withConfig, 'eventfabric.config.json'),
    JSON.stringify({ store: 'sqlite:data/app.db', schemas: 'contracts' }),
  );
  const bare = join(dir, 'bare');
  mkdirSync(join(bare, 'schemas'), { recursive: true });
  afterAll(remove);

  it('given nothing, then the store is the default and ./schemas is used when it exists', () => {
    expect(resolveConfig({ env: {}, cwd: bare })).toEqual({
      storeUrl: DEFAULT_STORE_URL,
      store: { kind: 'sqlite', path: join(bare, '.eventfabric/eventfabric.db') },
      storeSource: 'default',
      schemasDir: join(bare, 'schemas'),
    });
    expect(resolveConfig({ env: {}, cwd: dir }).schemasDir).toBe(undefined);
  });

  it('given a config file, then its store and schemas are used, relative to it', () => {
    expect(resolveConfig({ env: {}, cwd: withConfig })).toEqual({
      storeUrl: 'sqlite:data/app.db',
      store: { kind: 'sqlite', path: join(withConfig, 'data/app.db') },
      storeSource: 'config-file',
      schemasDir: join(withConfig, 'contracts'),
    });
  });

  it('given EVENTFABRIC_STORE, then it wins over the config file; --store wins over both', () => {
    const env = { EVENTFABRIC_STORE: 'sqlite:/tmp/env.db' };
    expect(resolveConfig({ env, cwd: withConfig })).toMatchObject({
      store: { kind: 'sqlite', path: '/tmp/env.db' },
      storeSource: 'env',
    });
    expect(resolveConfig({ store: 'sqlite::memory:', env, cwd: withConfig })).toMatchObject({
      store: { kind: 'sqlite', path: ':memory:' },
      storeSource: 'flag',
    });
  });

  it.each([
    ['foo:bar', 'unknown store URL "foo:bar"; expected sqlite:<path> or sqlite::memory:'],
    ['sqlite:', 'store URL "sqlite:" needs a path, e.g. sqlite:data/app.db'],
    [
      'postgres://u:pw@db/events',
      'store "postgres://u:***@db/events": PostgreSQL stores are not available yet in this build; use sqlite:<path>',
    ],
  ])('given the store URL %s, then it fails with INVALID_CONFIG', (url, message) => {
    expect(() => parseStoreUrl(url)).toThrow(message);
    expect(catchError(() => parseStoreUrl(url))).toSatisfy((e) =>
      isEventFabricError(e, 'INVALID_CONFIG'),
    );
  });

  it.each([
    ['{"store": ', /^eventfabric\.config\.json is not valid JSON: /],
    ['["sqlite:x.db"]', /^eventfabric\.config\.json must hold a JSON object$/],
    [
      '{"storage": "sqlite:x.db"}',
      /^eventfabric\.config\.json: unknown field "storage" \(known: store, schemas\)$/,
    ],
    ['{"store": 42}', /^eventfabric\.config\.json: "store" must be a non-empty string$/],
    ['{"schemas": "missing"}', /^schema directory missing does not exist$/],
  ])('given the config file %s, then it fails with INVALID_CONFIG', (text, message) => {
    const cwd = join(dir, `bad-${Math.random().toString(36).slice(2)}`);
    mkdirSync(cwd);
    writeFileSync(join(cwd, 'eventfabric.config.json'), text);

    const error = catchError(() => resolveConfig({ env: {}, cwd }));

    expect(isEventFabricError(error, 'INVALID_CONFIG')).toBe(true);
    expect((error as Error).message).toMatch(message);
  });
});

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}
