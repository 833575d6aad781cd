import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { describe } from 'vitest';

// The PostgreSQL pattern of packages/postgres/test/pg-available.ts, for the CLI's tests.

/** Where tests find PostgreSQL; override with EVENTFABRIC_TEST_PG_URL. */
export const TEST_PG_URL =
  process.env.EVENTFABRIC_TEST_PG_URL ?? 'postgres://root@127.0.0.1:5432/test';

async function probe(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: TEST_PG_URL, connectionTimeoutMillis: 3000 });
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
export function testSchemaName(prefix = 'ef_cli'): string {
  return `${prefix}_${randomBytes(6).toString('hex')}`;
}

/** The CLI's store URL for the test server and one schema. */
export function storeUrl(schema: string): string {
  const url = new URL(TEST_PG_URL);
  url.searchParams.set('schema', schema);
  return url.toString();
}

/** Whether a schema exists on the test server. */
export async function schemaExists(schema: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: TEST_PG_URL });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const result = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
    return result.rowCount === 1;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Drop schemas created by a test; best-effort when the server went away. */
export async function dropSchemas(schemas: Iterable<string>): Promise<void> {
  const names = [...schemas];
  if (names.length === 0) return;
  const client = new pg.Client({ connectionString: TEST_PG_URL });
  client.on('error', () => undefined);
  try {
    await client.connect();
    for (const name of names) await client.query(`DROP SCHEMA IF EXISTS "${name}" CASCADE`);
  } finally {
    await client.end().catch(() => undefined);
  }
}
