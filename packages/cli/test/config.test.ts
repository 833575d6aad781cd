import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isEventFabricError } from '@eventfabric/core';
import { initProject } from '../src/commands/init.js';
import { DEFAULT_STORE_URL, loadConfig, parseStoreUrl, resolveConfig } from '../src/index.js';
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
      service: 'app',
      serviceSource: 'default',
      handlers: [],
      projections: [],
      sagas: [],
      hooks: {},
      configFile: undefined,
    });
    expect(resolveConfig({ env: {}, cwd: dir }).schemasDir).toBe(undefined);
  });

  it('given a config file, then its store and schemas are used, relative to it', () => {
    expect(resolveConfig({ env: {}, cwd: withConfig })).toEqual({
      storeUrl: 'sqlite:data/app.db',
      store: { kind: 'sqlite', path: join(withConfig, 'data/app.db') },
      storeSource: 'config-file',
      schemasDir: join(withConfig, 'contracts'),
      service: 'app',
      serviceSource: 'default',
      handlers: [],
      projections: [],
      sagas: [],
      hooks: {},
      configFile: join(withConfig, 'eventfabric.config.json'),
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
    [
      'foo:bar',
      'unknown store URL "foo:bar"; expected sqlite:<path>, sqlite::memory: or postgres://user@host:port/database[?schema=name]',
    ],
    ['sqlite:', 'store URL "sqlite:" needs a path, e.g. sqlite:data/app.db'],
    [
      'postgres://u:pw@/events',
      'malformed PostgreSQL store URL "postgres://u:***@/events": it is not a valid URL',
    ],
    [
      'postgres://u@db',
      'malformed PostgreSQL store URL "postgres://u@db": it must name one database',
    ],
    ['postgres://u@db/events?schema=Billing', 'schema "Billing" must be a lower-case identifier'],
    ['postgres://u@db/events?schema=a&schema=b', 'schema is given twice'],
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

describe('loadConfig, with a JavaScript config file', () => {
  const { dir, remove } = tempDir();
  afterAll(remove);
  const project = (files: Record<string, string>) => {
    const cwd = join(dir, `p-${Math.random().toString(36).slice(2)}`);
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(dirname(join(cwd, name)), { recursive: true });
      writeFileSync(join(cwd, name), text);
    }
    return cwd;
  };
  const HANDLER = '{ name: "balances", on: ["treasury.*"], transactional: true, handle() {} }';

  it('given eventfabric.config.mjs, then its store, service and handlers are used', async () => {
    const cwd = project({
      'eventfabric.config.mjs': `export default { store: 'sqlite:data/app.db', service: 'treasury', handlers: [${HANDLER}] };`,
    });

    const config = await loadConfig({ env: {}, cwd });

    expect(config).toMatchObject({
      store: { kind: 'sqlite', path: join(cwd, 'data/app.db') },
      storeSource: 'config-file',
      service: 'treasury',
      serviceSource: 'config-file',
      configFile: join(cwd, 'eventfabric.config.mjs'),
    });
    expect(config.handlers.map((h) => [h.name, h.on, h.transactional])).toEqual([
      ['balances', ['treasury.*'], true],
    ]);
  });

  it('given --service and EVENTFABRIC_SERVICE, then the flag wins over the environment, which wins over the file', async () => {
    const cwd = project({ 'eventfabric.config.js': "export default { service: 'treasury' };" });
    const env = { EVENTFABRIC_SERVICE: 'billing' };

    expect((await loadConfig({ env, cwd })).service).toBe('billing');
    expect(await loadConfig({ env, cwd, service: 'audit' })).toMatchObject({
      service: 'audit',
      serviceSource: 'flag',
    });
  });

  it('given --config in another directory, then its relative store and schemas resolve against that directory', async () => {
    const cwd = project({
      'config/eventfabric.config.mjs':
        "export default { store: 'sqlite:app.db', schemas: 'schemas' };",
      'config/schemas/.keep': '',
    });

    const config = await loadConfig({ env: {}, cwd, config: 'config/eventfabric.config.mjs' });

    expect(config).toMatchObject({
      store: { kind: 'sqlite', path: join(cwd, 'config/app.db') },
      schemasDir: join(cwd, 'config/schemas'),
      configFile: join(cwd, 'config/eventfabric.config.mjs'),
    });
  });

  it.each([
    [
      { 'eventfabric.config.mjs': 'export default {};', 'eventfabric.config.json': '{}' },
      /^found eventfabric\.config\.mjs and eventfabric\.config\.json: keep one config file/,
    ],
    [
      { 'eventfabric.config.ts': 'export default {};' },
      /^eventfabric\.config\.ts: Node\.js 20 cannot import TypeScript without a loader; compile it to \.mjs first/,
    ],
    [
      { 'eventfabric.config.json': '{"handlers": []}' },
      /^eventfabric\.config\.json: unknown field "handlers" \(known: store, schemas\); "handlers" needs a JavaScript config/,
    ],
    [
      { 'eventfabric.config.mjs': 'export default { store: 42 };' },
      /^eventfabric\.config\.mjs: "store" must be a non-empty string$/,
    ],
    [
      { 'eventfabric.config.mjs': "export default { service: 'Treasury' };" },
      /^eventfabric\.config\.mjs: service "Treasury" must be lower-case/,
    ],
    [
      {
        'eventfabric.config.mjs':
          'export default { handlers: [{ name: "Balances", on: ["a.b"], handle() {} }] };',
      },
      /^eventfabric\.config\.mjs: handler "Balances" \(handlers\[0\]\): the name must be lower-case/,
    ],
    [
      {
        'eventfabric.config.mjs':
          'export default { handlers: [{ name: "b", on: ["a.b"], handle() {}, retry: { maxAttempts: 0 } }] };',
      },
      /^eventfabric\.config\.mjs: handler "b" \(handlers\[0\]\): retry\.maxAttempts is out of range$/,
    ],
    [
      {
        'eventfabric.config.mjs':
          'export default { handlers: [{ name: "b", on: ["a.b"], handle() {}, transactional: "yes" }] };',
      },
      /^eventfabric\.config\.mjs: handler "b" \(handlers\[0\]\): "transactional" must be true or false$/,
    ],
  ])('given %j, then it fails with INVALID_CONFIG', async (files, message) => {
    const error = await loadConfig({ env: {}, cwd: project(files) }).catch((e: unknown) => e);

    expect(isEventFabricError(error, 'INVALID_CONFIG')).toBe(true);
    expect((error as Error).message).toMatch(message);
  });

  it('given a config file named by --config that does not exist, then INVALID_CONFIG names it', async () => {
    const error = await loadConfig({ env: {}, cwd: dir, config: 'nope.mjs' }).catch((e) => e);

    expect(isEventFabricError(error, 'INVALID_CONFIG')).toBe(true);
    expect((error as Error).message).toBe('config file nope.mjs does not exist');
  });

  it('given eventfabric.config.mjs, when init runs, then it keeps that file and writes no JSON config beside it', async () => {
    const cwd = project({ 'eventfabric.config.mjs': "export default { store: 'sqlite:app.db' };" });

    const result = await initProject(cwd);

    expect(result).toEqual({
      dir: cwd,
      created: ['schemas/agreements/contribution.submitted.v1.json', 'app.db'],
      kept: ['eventfabric.config.mjs'],
    });
    expect(existsSync(join(cwd, 'eventfabric.config.json'))).toBe(false);
  });

  it('given a JavaScript config, when resolving synchronously, then it says to load it first', () => {
    const cwd = project({ 'eventfabric.config.mjs': 'export default {};' });

    expect(() => resolveConfig({ env: {}, cwd })).toThrow(
      'eventfabric.config.mjs is a JavaScript config: load it with loadConfig() or loadConfigFile()',
    );
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
