import { randomBytes } from 'node:crypto';
import { Client } from '../src/driver.js';
import { createPostgresEventStore, type PostgresEventStore } from '../src/postgres-event-store.js';
import { describe } from 'vitest';

/** Where integration tests find PostgreSQL; override with EVENTFABRIC_TEST_PG_URL. */
export const TEST_PG_URL =
  process.env.EVENTFABRIC_TEST_PG_URL ?? 'postgres://root@127.0.0.1:5432/test';

async function probe(): Promise<string | undefined> {
  const client = new Client({ connectionString: TEST_PG_URL, connectionTimeoutMillis: 3000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (error) {
    return (error as Error).message;
  } finally {
    await client.end().catch(() => undefined);
  }
}

const unreachable = await probe();

/**
 * `describe` when PostgreSQL answers. Otherwise, on a developer's machine, a loud warning
 * and a skipped block whose title says why; in CI (`CI=true`), a thrown error, so the
 * suite fails instead of passing empty.
 */
export function describeWithPostgres(name: string, body: () => void): void {
  if (unreachable === undefined) {
    describe(name, body);
    return;
  }
  const reason = `PostgreSQL unreachable at ${TEST_PG_URL}: ${unreachable}`;
  if (process.env.CI === 'true') throw new Error(`${name}: ${reason} (CI=true: failing)`);
  console.warn(`\n⚠ SKIPPING "${name}": ${reason}\n`);
  describe.skip(`${name} (skipped: ${reason})`, body);
}

/** A fresh schema name, unique per call. */
export function testSchemaName(prefix = 'ef_test'): string {
  return `${prefix}_${randomBytes(6).toString('hex')}`;
}

/** Drop schemas created by a test file; best-effort when the server went away. */
export async function dropSchemas(schemas: Iterable<string>): Promise<void> {
  const names = [...schemas];
  if (names.length === 0) return;
  const client = new Client({ connectionString: TEST_PG_URL });
  client.on('error', () => undefined);
  try {
    await client.connect();
    for (const name of names) await client.query(`DROP SCHEMA IF EXISTS "${name}" CASCADE`);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Wait until `condition` holds, polling; throws naming `what` after `ms`. */
export async function until(
  condition: () => boolean | Promise<boolean>,
  what: string,
  ms = 10_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Stores on fresh schemas for one test file: `open()` makes one (migrated, its own pool);
 * `cleanup()` closes them and drops the schemas (call it in `afterAll`).
 */
export function freshStores(prefix: string, poolSize = 6) {
  const schemas = new Set<string>();
  const stores: PostgresEventStore[] = [];
  return {
    async open(): Promise<PostgresEventStore> {
      const schema = testSchemaName(prefix);
      schemas.add(schema);
      const store = await createPostgresEventStore({
        connectionString: TEST_PG_URL,
        schema,
        poolSize,
      });
      stores.push(store);
      return store;
    },
    async cleanup(): Promise<void> {
      await Promise.all(stores.map((s) => s.close()));
      await dropSchemas(schemas);
    },
  };
}
