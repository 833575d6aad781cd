import type Database from 'better-sqlite3';
import {
  createInlineProjector,
  type CompiledProjection,
  type InlineProjector,
  type InlineProjectorOptions,
  type ProjectionState,
  type ProjectionStorage,
  type ProjectionVersionState,
} from '@eventfabric/core';
import {
  connectionLock,
  openTarget,
  releaseConnection,
  type ConnectionLock,
  type SqliteTarget,
} from './sqlite-database.js';
import type { SqliteEventStore } from './sqlite-event-store.js';

interface VersionRow {
  version: number;
  tables: string;
  position: string | null;
  last_error: string | null;
}

/**
 * Projections in the store's SQLite file. Version `v` of projection `p` keeps table `t` as
 * `p_<p>_v<v>_<t>`; readers query a view named `t`, which the swap re-points in the same
 * transaction that marks the new version live. A batch runs in `BEGIN IMMEDIATE` on the
 * store's connection, its handlers get that connection as `tx`, and the checkpoint commits
 * with their writes.
 */
export class SqliteProjectionStorage implements ProjectionStorage<Database.Database> {
  readonly db: Database.Database;
  private readonly owned: boolean;
  private readonly lock: ConnectionLock;

  constructor(target: SqliteTarget) {
    ({ db: this.db, owned: this.owned } = openTarget(target));
    this.lock = connectionLock(this.db);
  }

  transaction<T>(work: (tx: Database.Database) => Promise<T>): Promise<T> {
    return this.lock.hold(async () => {
      this.db.exec('BEGIN IMMEDIATE');
      try {
        const value = await work(this.db);
        this.db.exec('COMMIT');
        return value;
      } catch (error) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw error;
      }
    });
  }

  tableName(name: string, version: number, table: string): string {
    return `"p_${name}_v${version}_${table}"`;
  }

  async state(name: string): Promise<ProjectionState> {
    return this.lock.run(() => {
      const live = this.db
        .prepare('SELECT live_version FROM projections WHERE name = ?')
        .pluck()
        .get(name) as number | null | undefined;
      const rows = this.db
        .prepare(
          'SELECT version, tables, position, last_error FROM projection_versions WHERE name = ? ORDER BY version',
        )
        .all(name) as VersionRow[];
      return {
        name,
        live: live ?? undefined,
        versions: rows.map((row): ProjectionVersionState => ({
          version: row.version,
          position: row.position ?? undefined,
          lastError: row.last_error
            ? (JSON.parse(row.last_error) as ProjectionVersionState['lastError'])
            : undefined,
        })),
      };
    });
  }

  async register(
    tx: Database.Database,
    name: string,
    version: number,
    tables: readonly string[],
  ): Promise<void> {
    tx.prepare(
      'INSERT INTO projections (name, live_version, updated_at) VALUES (?, NULL, ?) ON CONFLICT (name) DO NOTHING',
    ).run(name, Date.now());
    tx.prepare(
      'INSERT INTO projection_versions (name, version, tables) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
    ).run(name, version, JSON.stringify(tables));
  }

  async advance(tx: Database.Database, name: string, version: number, position: string) {
    tx.prepare(
      'UPDATE projection_versions SET position = ?, last_error = NULL WHERE name = ? AND version = ?',
    ).run(position, name, version);
  }

  async fail(name: string, version: number, error: ProjectionVersionState['lastError']) {
    await this.lock.run(() =>
      this.db
        .prepare('UPDATE projection_versions SET last_error = ? WHERE name = ? AND version = ?')
        .run(JSON.stringify(error), name, version),
    );
  }

  async promote(
    tx: Database.Database,
    name: string,
    version: number,
    tables: readonly string[],
  ): Promise<void> {
    const others = tx
      .prepare('SELECT version, tables FROM projection_versions WHERE name = ? AND version <> ?')
      .all(name, version) as VersionRow[];
    for (const other of others) {
      for (const table of JSON.parse(other.tables) as string[]) {
        if (!tables.includes(table)) tx.exec(`DROP VIEW IF EXISTS "${table}"`);
      }
    }
    for (const table of tables) {
      tx.exec(`DROP VIEW IF EXISTS "${table}"`);
      tx.exec(`CREATE VIEW "${table}" AS SELECT * FROM ${this.tableName(name, version, table)}`);
    }
    for (const other of others) this.dropTables(tx, name, other);
    tx.prepare('DELETE FROM projection_versions WHERE name = ? AND version <> ?').run(
      name,
      version,
    );
    tx.prepare('DELETE FROM projection_inline WHERE name = ? AND version <> ?').run(name, version);
    tx.prepare('UPDATE projections SET live_version = ?, updated_at = ? WHERE name = ?').run(
      version,
      Date.now(),
      name,
    );
  }

  async drop(name: string, version: number, tables: readonly string[]): Promise<void> {
    await this.transaction(async (tx) => {
      this.dropTables(tx, name, { version, tables: JSON.stringify(tables) });
      tx.prepare('DELETE FROM projection_versions WHERE name = ? AND version = ?').run(
        name,
        version,
      );
    });
  }

  async replaceRows(tx: Database.Database, from: string, to: string): Promise<void> {
    tx.exec(`DELETE FROM ${to}; INSERT INTO ${to} SELECT * FROM ${from}`);
  }

  async rows(tx: Database.Database, table: string): Promise<Record<string, unknown>[]> {
    return tx.prepare(`SELECT * FROM ${table}`).all() as Record<string, unknown>[];
  }

  async liveVersion(tx: Database.Database, name: string): Promise<number | undefined> {
    // BEGIN IMMEDIATE already excludes a concurrent swap: SQLite has one writer at a time.
    const live = tx
      .prepare('SELECT live_version FROM projections WHERE name = ?')
      .pluck()
      .get(name) as number | null | undefined;
    return live ?? undefined;
  }

  async markInline(
    tx: Database.Database,
    name: string,
    version: number,
    position: string,
  ): Promise<boolean> {
    return (
      tx
        .prepare(
          'INSERT INTO projection_inline (name, version, position) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
        )
        .run(name, version, Number(position)).changes === 1
    );
  }

  async takeInline(
    tx: Database.Database,
    name: string,
    version: number,
    positions: readonly string[],
  ): Promise<Set<string>> {
    if (positions.length === 0) return new Set();
    const lowest = Number(positions[0]);
    const highest = Number(positions[positions.length - 1]);
    const marked = tx
      .prepare(
        `DELETE FROM projection_inline WHERE name = ? AND version = ? AND position BETWEEN ? AND ?
         RETURNING position`,
      )
      .pluck()
      .all(name, version, lowest, highest) as number[];
    const wanted = new Set(positions);
    return new Set(marked.map(String).filter((p) => wanted.has(p)));
  }

  close(): void {
    if (this.owned) releaseConnection(this.db);
  }

  private dropTables(
    tx: Database.Database,
    name: string,
    row: Pick<VersionRow, 'version' | 'tables'>,
  ): void {
    for (const table of JSON.parse(row.tables) as string[]) {
      tx.exec(`DROP TABLE IF EXISTS ${this.tableName(name, row.version, table)}`);
    }
  }
}

/**
 * An inline projector on a SQLite store: `appendToStream` appends and updates the live
 * version of each projection (defined with `inline: true`) in one `BEGIN IMMEDIATE`
 * transaction on the store's connection. Run `startProjections` beside it on the same
 * store: it builds new versions and applies events appended any other way.
 */
export function createSqliteInlineProjector(
  store: SqliteEventStore,
  projections: readonly CompiledProjection<Database.Database>[],
  options: Pick<InlineProjectorOptions<Database.Database>, 'logger' | 'allowForeignTypes'> = {},
): InlineProjector {
  return createInlineProjector({
    ...options,
    storage: new SqliteProjectionStorage(store),
    projections,
    // Inside the storage's transaction the store's append joins it (same connection).
    append: (_tx, streamId, events, appendOptions) =>
      store.appendToStream(streamId, events, appendOptions),
  });
}
