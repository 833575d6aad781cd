/** Where one version of a projection stands. */
export interface ProjectionVersionState {
  version: number;
  /** Position of the last event applied; undefined before the first. */
  position: string | undefined;
  /** The last failure applying events, cleared by the next success. */
  lastError: { message: string; at: string; position: string | undefined } | undefined;
}

/** A projection's versions and which one readers see. */
export interface ProjectionState {
  name: string;
  /** The version the tables' names point at; undefined until a first version is built. */
  live: number | undefined;
  versions: ProjectionVersionState[];
}

/**
 * What the projection daemon needs of a database: transactions, versioned tables, the
 * checkpoints (in the same transaction as the read model's updates) and the swap. The
 * SQLite and PostgreSQL packages implement it in the store's database.
 */
export interface ProjectionStorage<Tx = unknown> {
  /** Run `work` in one transaction on the store's database; commit when it resolves. */
  transaction<T>(work: (tx: Tx) => Promise<T>): Promise<T>;
  /** The SQL name of `table` for `version` of projection `name` (quoted, qualified). */
  tableName(name: string, version: number, table: string): string;
  /** The stored state, or a state with no versions for a projection never run. */
  state(name: string): Promise<ProjectionState>;
  /** Record that `version` exists with these tables (just created), in `tx`. */
  register(tx: Tx, name: string, version: number, tables: readonly string[]): Promise<void>;
  /** Move `version`'s checkpoint to `position` and clear its error, in `tx`. */
  advance(tx: Tx, name: string, version: number, position: string): Promise<void>;
  /** Record a failure of `version` (outside any transaction). */
  fail(name: string, version: number, error: ProjectionVersionState['lastError']): Promise<void>;
  /**
   * In `tx`: point every table name at `version`'s tables (views), mark it live, and drop
   * the tables and state of every other registered version, and the views of tables the
   * new version no longer has.
   */
  promote(tx: Tx, name: string, version: number, tables: readonly string[]): Promise<void>;
  /** Drop `version`'s tables and state (a verification's shadow), in its own transaction. */
  drop(name: string, version: number, tables: readonly string[]): Promise<void>;
  /** In `tx`: replace every row of table `to` with the rows of table `from` (SQL names). */
  replaceRows(tx: Tx, from: string, to: string): Promise<void>;
  /** Every row of a table, as JSON-comparable objects, in `tx`. */
  rows(tx: Tx, table: string): Promise<Record<string, unknown>[]>;
  /**
   * In `tx`: the live version of `name`, locked against a concurrent swap until `tx` ends
   * (what an inline update reads before it writes into the live tables).
   */
  liveVersion(tx: Tx, name: string): Promise<number | undefined>;
  /**
   * In `tx`: record that the event at `position` was applied inline to `version`, in the
   * transaction that appended it. False when it already was (a retried append).
   */
  markInline(tx: Tx, name: string, version: number, position: string): Promise<boolean>;
  /**
   * In `tx`: those of `positions` that were applied inline to `version`, which the daemon
   * then skips; their marks are removed.
   */
  takeInline(
    tx: Tx,
    name: string,
    version: number,
    positions: readonly string[],
  ): Promise<Set<string>>;
}
