import {
  migrate as migratePostgres,
  migrations as postgresMigrations,
} from '@eventfabric/postgres';
import { migrations as sqliteMigrations } from '@eventfabric/sqlite';
import type { StoreBackend } from './store.js';

// What `migrate`, `doctor` and `init` know of a store's migrations.

/** One migration recorded in a store. */
export interface AppliedMigration {
  version: number;
  name: string;
}

/** A store's migrations: what is recorded in it, and what this build knows but it lacks. */
export interface MigrationState {
  applied: AppliedMigration[];
  pending: AppliedMigration[];
}

/**
 * Apply the store's pending migrations.
 * @returns the versions this call applied (empty when the store was up to date)
 */
export async function applyMigrations(backend: StoreBackend, before: Date): Promise<number[]> {
  if (backend.kind === 'postgres') {
    return migratePostgres(backend.store.pool, backend.store.schema);
  }
  // A SQLite store migrates when it is opened, so those applied since `before` are this run's.
  const rows = backend.store.db
    .prepare('SELECT version, applied_at FROM eventfabric_migrations ORDER BY version')
    .all() as { version: number; applied_at: string }[];
  return rows.filter((r) => r.applied_at >= before.toISOString()).map((r) => r.version);
}

/** The migrations recorded in the store, and those it still lacks. Changes nothing. */
export async function migrationState(backend: StoreBackend): Promise<MigrationState> {
  let applied: AppliedMigration[];
  let known: readonly AppliedMigration[];
  if (backend.kind === 'postgres') {
    known = postgresMigrations;
    const { pool, schema } = backend.store;
    const table = `"${schema}".eventfabric_migrations`;
    const exists = await pool.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [
      table,
    ]);
    applied =
      exists.rows[0]?.t == null
        ? []
        : (
            await pool.query<AppliedMigration>(
              `SELECT version, name FROM ${table} ORDER BY version`,
            )
          ).rows;
  } else {
    known = sqliteMigrations;
    applied = backend.store.db
      .prepare('SELECT version, name FROM eventfabric_migrations ORDER BY version')
      .all() as AppliedMigration[];
  }
  const done = new Set(applied.map((m) => m.version));
  return {
    applied: applied.map(({ version, name }) => ({ version, name })),
    pending: known
      .filter((m) => !done.has(m.version))
      .map(({ version, name }) => ({ version, name })),
  };
}
