import { afterAll, expect, it } from 'vitest';
import { isEventFabricError } from '@eventfabric/core';
import { Client } from '../src/driver.js';
import { createPostgresEventStore, type PostgresEventStoreOptions } from '../src/index.js';
import { describeWithPostgres, dropSchemas, testSchemaName, TEST_PG_URL } from './pg-available.js';

const schema = testSchemaName('ef_opts');

async function schemaExists(name: string): Promise<boolean> {
  const client = new Client({ connectionString: TEST_PG_URL });
  await client.connect();
  try {
    const r = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [name]);
    return r.rowCount === 1;
  } finally {
    await client.end();
  }
}

async function codeOf(options: unknown): Promise<string> {
  try {
    const store = await createPostgresEventStore(options as PostgresEventStoreOptions);
    await store.close();
    return 'created';
  } catch (error) {
    return isEventFabricError(error) ? error.code : `untyped: ${String(error)}`;
  }
}

describeWithPostgres('postgres store options', () => {
  afterAll(() => dropSchemas([schema]));

  const base = { connectionString: TEST_PG_URL, schema };
  const cases: [string, unknown, string][] = [
    ['no options', undefined, 'INVALID_CONFIG'],
    ['neither connectionString nor pool', { schema }, 'INVALID_CONFIG'],
    [
      'a connection string that is not a postgres URL',
      { ...base, connectionString: 'mysql://x' },
      'INVALID_CONFIG',
    ],
    ['a pool that is not a pool', { schema, pool: {} }, 'INVALID_CONFIG'],
    ['an upper-case schema', { ...base, schema: 'Events' }, 'INVALID_ARGUMENT'],
    ['a schema with a quote', { ...base, schema: 'a"b' }, 'INVALID_ARGUMENT'],
    ['poolSize 0', { ...base, poolSize: 0 }, 'INVALID_ARGUMENT'],
    ['snapshotEvery 1.5', { ...base, snapshotEvery: 1.5 }, 'INVALID_ARGUMENT'],
    ['limits.maxBatchSize -1', { ...base, limits: { maxBatchSize: -1 } }, 'INVALID_ARGUMENT'],
    ['migrate "yes"', { ...base, migrate: 'yes' }, 'INVALID_ARGUMENT'],
  ];
  for (const [name, options, code] of cases) {
    it(`${name} fails with ${code} and creates nothing`, async () => {
      expect(await codeOf(options)).toBe(code);
      expect(await schemaExists(schema)).toBe(false);
    });
  }

  it('an unreachable server fails with STORE_UNAVAILABLE, with the driver error as cause', async () => {
    const error = await createPostgresEventStore({
      connectionString: 'postgres://root@127.0.0.1:1/test',
      schema,
    }).catch((e: unknown) => e);
    expect(isEventFabricError(error, 'STORE_UNAVAILABLE')).toBe(true);
    expect((error as Error).cause).toBeInstanceOf(Error);
    expect(await schemaExists(schema)).toBe(false);
  });

  it('a valid store creates its schema, and close() is idempotent', async () => {
    const store = await createPostgresEventStore(base);
    expect(await schemaExists(schema)).toBe(true);
    await store.close();
    await store.close();
    await expect(store.headPosition()).rejects.toMatchObject({ code: 'STORE_CLOSED' });
  });
});
