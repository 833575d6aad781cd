import {
  createInlineProjector,
  type CompiledProjection,
  type InlineProjector,
  type InlineProjectorOptions,
  type ProjectionState,
  type ProjectionStorage,
  type ProjectionVersionState,
} from '@eventfabric/core';
import type { PostgresEventStore } from './postgres-event-store.js';
import { storeError, withTransaction, type PostgresTransaction } from './postgres-transaction.js';
import { quoteIdentifier } from './schema-name.js';

interface VersionRow {
  version: number;
  tables: string[];
  position: string | null;
  last_error: ProjectionVersionState['lastError'] | null;
}

/**
 * Projections in the store's PostgreSQL schema (migration 006). Version `v` of projection
 * `p` keeps table `t` as `<schema>.p_<p>_v<v>_<t>`; readers query the view `<schema>.<t>`,
 * which the swap drops and re-creates in the transaction that marks the new version live
 * (DDL is transactional: readers see the old view or the new one). A batch runs in one
 * {@link withTransaction}; handlers get the {@link PostgresTransaction} as `tx`, and the
 * checkpoint commits with their writes.
 */
export class PostgresProjectionStorage implements ProjectionStorage<PostgresTransaction> {
  private readonly s: string;

  constructor(private readonly store: PostgresEventStore) {
    this.s = quoteIdentifier(store.schema);
  }

  transaction<T>(work: (tx: PostgresTransaction) => Promise<T>): Promise<T> {
    return withTransaction(this.store, work);
  }

  tableName(name: string, version: number, table: string): string {
    return `${this.s}.${quoteIdentifier(`p_${name}_v${version}_${table}`)}`;
  }

  async state(name: string): Promise<ProjectionState> {
    return this.run(async () => {
      const live = await this.store.pool.query<{ live_version: number | null }>(
        `SELECT live_version FROM ${this.s}.projections WHERE name = $1`,
        [name],
      );
      const rows = await this.store.pool.query<VersionRow>(
        `SELECT version, tables, position, last_error FROM ${this.s}.projection_versions
         WHERE name = $1 ORDER BY version`,
        [name],
      );
      return {
        name,
        live: live.rows[0]?.live_version ?? undefined,
        versions: rows.rows.map((row) => ({
          version: row.version,
          position: row.position ?? undefined,
          lastError: row.last_error ?? undefined,
        })),
      };
    });
  }

  async register(
    tx: PostgresTransaction,
    name: string,
    version: number,
    tables: readonly string[],
  ): Promise<void> {
    await tx.query(
      `INSERT INTO ${this.s}.projections (name) VALUES ($1) ON CONFLICT (name) DO NOTHING`,
      [name],
    );
    await tx.query(
      `INSERT INTO ${this.s}.projection_versions (name, version, tables) VALUES ($1, $2, $3)
       ON CONFLICT DO NOTHING`,
      [name, version, tables],
    );
  }

  async advance(
    tx: PostgresTransaction,
    name: string,
    version: number,
    position: string,
  ): Promise<void> {
    await tx.query(
      `UPDATE ${this.s}.projection_versions SET position = $3, last_error = NULL
       WHERE name = $1 AND version = $2`,
      [name, version, position],
    );
  }

  async fail(name: string, version: number, error: ProjectionVersionState['lastError']) {
    await this.run(() =>
      this.store.pool.query(
        `UPDATE ${this.s}.projection_versions SET last_error = $3 WHERE name = $1 AND version = $2`,
        [name, version, JSON.stringify(error)],
      ),
    );
  }

  async promote(
    tx: PostgresTransaction,
    name: string,
    version: number,
    tables: readonly string[],
  ): Promise<void> {
    const others = await tx.query<VersionRow>(
      `SELECT version, tables FROM ${this.s}.projection_versions WHERE name = $1 AND version <> $2`,
      [name, version],
    );
    const views = new Set([...tables, ...others.rows.flatMap((o) => o.tables)]);
    for (const table of views) {
      await tx.query(`DROP VIEW IF EXISTS ${this.s}.${quoteIdentifier(table)}`);
    }
    for (const table of tables) {
      await tx.query(
        `CREATE VIEW ${this.s}.${quoteIdentifier(table)} AS SELECT * FROM ${this.tableName(name, version, table)}`,
      );
    }
    for (const other of others.rows) await this.dropTables(tx, name, other.version, other.tables);
    await tx.query(`DELETE FROM ${this.s}.projection_versions WHERE name = $1 AND version <> $2`, [
      name,
      version,
    ]);
    await tx.query(`DELETE FROM ${this.s}.projection_inline WHERE name = $1 AND version <> $2`, [
      name,
      version,
    ]);
    await tx.query(
      `UPDATE ${this.s}.projections SET live_version = $2, updated_at = now() WHERE name = $1`,
      [name, version],
    );
  }

  async drop(name: string, version: number, tables: readonly string[]): Promise<void> {
    await this.transaction(async (tx) => {
      await this.dropTables(tx, name, version, tables);
      await tx.query(`DELETE FROM ${this.s}.projection_versions WHERE name = $1 AND version = $2`, [
        name,
        version,
      ]);
    });
  }

  async replaceRows(tx: PostgresTransaction, from: string, to: string): Promise<void> {
    await tx.query(`DELETE FROM ${to}`);
    await tx.query(`INSERT INTO ${to} SELECT * FROM ${from}`);
  }

  async rows(tx: PostgresTransaction, table: string): Promise<Record<string, unknown>[]> {
    return (await tx.query(`SELECT * FROM ${table}`)).rows;
  }

  async liveVersion(tx: PostgresTransaction, name: string): Promise<number | undefined> {
    // FOR SHARE: a swap (which updates this row) waits for inline updates in flight, and
    // inline updates wait for a swap in flight, so none writes into a version being retired.
    const { rows } = await tx.query<{ live_version: number | null }>(
      `SELECT live_version FROM ${this.s}.projections WHERE name = $1 FOR SHARE`,
      [name],
    );
    return rows[0]?.live_version ?? undefined;
  }

  async markInline(
    tx: PostgresTransaction,
    name: string,
    version: number,
    position: string,
  ): Promise<boolean> {
    const result = await tx.query(
      `INSERT INTO ${this.s}.projection_inline (name, version, position) VALUES ($1, $2, $3)
       ON CONFLICT DO NOTHING`,
      [name, version, position],
    );
    return result.rowCount === 1;
  }

  async takeInline(
    tx: PostgresTransaction,
    name: string,
    version: number,
    positions: readonly string[],
  ): Promise<Set<string>> {
    if (positions.length === 0) return new Set();
    const { rows } = await tx.query<{ position: string }>(
      `DELETE FROM ${this.s}.projection_inline
       WHERE name = $1 AND version = $2 AND position = ANY($3::bigint[])
       RETURNING position`,
      [name, version, positions],
    );
    return new Set(rows.map((r) => r.position));
  }

  private async dropTables(
    tx: PostgresTransaction,
    name: string,
    version: number,
    tables: readonly string[],
  ): Promise<void> {
    for (const table of tables) {
      await tx.query(`DROP TABLE IF EXISTS ${this.tableName(name, version, table)}`);
    }
  }

  private async run<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw storeError(error, this.store.schema);
    }
  }
}

/**
 * An inline projector on a PostgreSQL store: `appendToStream` appends with
 * `tx.appendToStream` and updates the live version of each projection (defined with
 * `inline: true`) in the same transaction. Run `startProjections` beside it on the same
 * store: it builds new versions and applies events appended any other way.
 */
export function createPostgresInlineProjector(
  store: PostgresEventStore,
  projections: readonly CompiledProjection<PostgresTransaction>[],
  options: Pick<InlineProjectorOptions<PostgresTransaction>, 'logger' | 'allowForeignTypes'> = {},
): InlineProjector {
  return createInlineProjector({
    ...options,
    storage: new PostgresProjectionStorage(store),
    projections,
    append: (tx, streamId, events, appendOptions) =>
      tx.appendToStream(streamId, events, appendOptions),
  });
}
