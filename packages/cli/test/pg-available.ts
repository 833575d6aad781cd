import pg from 'pg';
import { TEST_PG_URL } from '../../postgres/test/pg-available.js';

// The CLI's PostgreSQL tests use the postgres package's test helpers (skip loudly when the
// server is unreachable, fail when CI=true; fresh schemas), plus what only the CLI needs.
export {
  TEST_PG_URL,
  describeWithPostgres,
  dropSchemas,
  testSchemaName,
} from '../../postgres/test/pg-available.js';

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
