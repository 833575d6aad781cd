import type { Pool } from 'pg';
import { quoteIdentifier } from '../schema-name.js';
import { migration001 } from './001-initial.js';
import { migration002 } from './002-consumer-records.js';
import { migration003 } from './003-queue.js';
import { migration004 } from './004-notify-after-commit.js';
import { migration005 } from './005-relay-checkpoints.js';
import { migration006 } from './006-projections.js';
import { migration007 } from './007-scheduled-messages.js';
import { migration008 } from './008-sagas.js';
import { migration009 } from './009-webhooks.js';
import { migration010 } from './010-dead-letters-once.js';
import { migration011 } from './011-inline-projections.js';

/** A numbered, immutable schema change, rendered for one schema. */
export interface Migration {
  version: number;
  name: string;
  /** The SQL, given the quoted and the bare schema name. */
  sql: (quotedSchema: string, schema: string) => string;
}

/** Every migration, in order. Append only. */
export const migrations: readonly Migration[] = [
  { version: 1, name: 'initial', sql: migration001 },
  { version: 2, name: 'consumer-records', sql: migration002 },
  { version: 3, name: 'queue', sql: migration003 },
  { version: 4, name: 'notify-after-commit', sql: migration004 },
  { version: 5, name: 'relay-checkpoints', sql: migration005 },
  { version: 6, name: 'projections', sql: migration006 },
  { version: 7, name: 'scheduled-messages', sql: migration007 },
  { version: 8, name: 'sagas', sql: migration008 },
  { version: 9, name: 'webhooks', sql: migration009 },
  { version: 10, name: 'dead-letters-once', sql: migration010 },
  { version: 11, name: 'inline-projections', sql: migration011 },
];

/**
 * Create `schema` when missing and apply pending migrations, in one transaction under a
 * transaction-scoped advisory lock, so several processes starting at once apply each
 * migration exactly once.
 * @returns the versions applied by this call
 */
export async function migrate(pool: Pool, schema: string): Promise<number[]> {
  const s = quoteIdentifier(schema);
  const client = await pool.connect();
  // A checked-out client has no pool listener: its connection dying must not crash the process.
  const onError = (): void => undefined;
  client.on('error', onError);
  const applied: number[] = [];
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [
      `eventfabric.migrate.${schema}`,
    ]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${s}.eventfabric_migrations (
      version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const done = await client.query<{ version: number }>(
      `SELECT version FROM ${s}.eventfabric_migrations`,
    );
    const versions = new Set(done.rows.map((r) => r.version));
    for (const m of migrations) {
      if (versions.has(m.version)) continue;
      await client.query(m.sql(s, schema));
      await client.query(
        `INSERT INTO ${s}.eventfabric_migrations (version, name) VALUES ($1, $2)`,
        [m.version, m.name],
      );
      applied.push(m.version);
    }
    await client.query('COMMIT');
    return applied;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.removeListener('error', onError);
    client.release();
  }
}
