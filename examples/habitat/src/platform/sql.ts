import type { AppendOptions, CloudEvent } from '@eventfabric/core';

/**
 * SQL a context runs against its own tables, written once for both databases: `?`
 * placeholders (numbered `$n` on PostgreSQL) and types both accept (TEXT, BIGINT).
 * Numbers come back as strings from PostgreSQL's BIGINT and SUM: read them with `Number()`.
 */
export interface SqlExecutor {
  readonly dialect: 'sqlite' | 'postgres';
  /** A table as written in SQL: schema-qualified on PostgreSQL. */
  table(name: string): string;
  all<T>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  /** Run a statement; resolves with the number of rows it changed. */
  run(sql: string, params?: readonly unknown[]): Promise<number>;
}

/** A unit of work: its writes and the events it appends commit together (the outbox). */
export interface SqlTransaction extends SqlExecutor {
  /** Append to a stream inside the unit of work; resolves with the events' positions. */
  append(
    streamId: string,
    events: readonly CloudEvent[],
    options?: AppendOptions,
  ): Promise<string[]>;
}

/** `?` placeholders to PostgreSQL's `$1, $2, …` (Habitat's SQL has no `?` inside literals). */
export function numberPlaceholders(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

/** A row's numeric column, which PostgreSQL hands back as a string for BIGINT and SUM. */
export function int(value: unknown): number {
  if (value === null || value === undefined) return 0;
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isSafeInteger(n)) throw new Error(`not a safe integer: ${String(value)}`);
  return n;
}
