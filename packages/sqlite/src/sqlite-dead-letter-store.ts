import type Database from 'better-sqlite3';
import {
  DEAD_LETTER_COLUMNS,
  DeadLetterNotFoundError,
  deadLetterFromRow,
  deadLetterValues,
  type DeadLetterRow,
  stampDeadLetter,
  type DeadLetter,
  type DeadLetterFilter,
  type DeadLetterStore,
  type FailureNote,
} from '@eventfabric/core';
import {
  connectionLock,
  openTarget,
  releaseConnection,
  type ConnectionLock,
  type SqliteTarget,
} from './sqlite-database.js';

/** Dead letters in SQLite: durable before `add` resolves (the connection's synchronous level). */
export class SqliteDeadLetterStore implements DeadLetterStore {
  private readonly db: Database.Database;
  private readonly owned: boolean;
  private readonly lock: ConnectionLock;
  private readonly insert: Database.Statement;
  private readonly byId: Database.Statement<[string], DeadLetterRow>;
  private readonly byEvent: Database.Statement<[string, string], DeadLetterRow>;
  private readonly noteStatement: Database.Statement<[string, string, string], FailureNote>;
  private readonly clear: Database.Statement;

  constructor(target: SqliteTarget) {
    ({ db: this.db, owned: this.owned } = openTarget(target));
    this.lock = connectionLock(this.db);
    this.insert = this.db.prepare(
      `INSERT INTO dead_letters (${DEAD_LETTER_COLUMNS}, event_id, event_type) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (handler, event_id) DO NOTHING`,
    );
    this.byEvent = this.db.prepare<[string, string], DeadLetterRow>(
      `SELECT ${DEAD_LETTER_COLUMNS} FROM dead_letters WHERE handler = ? AND event_id = ?`,
    );
    this.byId = this.db.prepare<[string], DeadLetterRow>(
      `SELECT ${DEAD_LETTER_COLUMNS} FROM dead_letters WHERE id = ?`,
    );
    this.noteStatement = this.db.prepare<[string, string, string], FailureNote>(
      `INSERT INTO handler_failures (handler, event_id, first_failed_at, failures) VALUES (?, ?, ?, 1)
       ON CONFLICT (handler, event_id) DO UPDATE SET failures = failures + 1
       RETURNING first_failed_at AS firstFailedAt, failures`,
    );
    this.clear = this.db.prepare('DELETE FROM handler_failures WHERE handler = ? AND event_id = ?');
  }

  async add(entry: Omit<DeadLetter, 'id' | 'deadLetteredAt'>): Promise<DeadLetter> {
    const d = stampDeadLetter(entry);
    // Idempotent on (handler, event id) (migration 009): a second add keeps the first.
    const kept = await this.lock.run(() =>
      this.insert.run(...deadLetterValues(d)).changes === 1
        ? undefined
        : this.byEvent.get(d.handler, d.event.id),
    );
    return kept === undefined ? d : deadLetterFromRow(kept);
  }

  async list(filter: DeadLetterFilter = {}): Promise<DeadLetter[]> {
    const { where, params } = whereClause(filter);
    const statement = this.db.prepare<unknown[], DeadLetterRow>(
      `SELECT ${DEAD_LETTER_COLUMNS} FROM dead_letters ${where} ORDER BY id LIMIT ?`,
    );
    const rows = await this.lock.run(() => statement.all(...params, filter.limit ?? 1000));
    return rows.map(deadLetterFromRow);
  }

  async get(id: string): Promise<DeadLetter> {
    const row = await this.lock.run(() => this.byId.get(id));
    if (!row) throw new DeadLetterNotFoundError(id);
    return deadLetterFromRow(row);
  }

  async remove(ids: readonly string[]): Promise<number> {
    if (ids.length === 0) return 0;
    const remove = this.db.prepare('DELETE FROM dead_letters WHERE id = ?');
    return this.db
      .transaction(() => ids.reduce((n, id) => n + remove.run(id).changes, 0))
      .immediate();
  }

  async count(filter: Omit<DeadLetterFilter, 'limit' | 'ids'> = {}): Promise<number> {
    const { where, params } = whereClause(filter);
    return this.db
      .prepare(`SELECT count(*) FROM dead_letters ${where}`)
      .pluck()
      .get(...params) as number;
  }

  async noteFailure(handler: string, eventId: string, at: Date): Promise<FailureNote> {
    return (await this.lock.run(() => this.noteStatement.get(handler, eventId, at.toISOString())))!;
  }

  async clearFailures(handler: string, eventId: string): Promise<void> {
    await this.lock.run(() => this.clear.run(handler, eventId));
  }

  /** Close the connection if this store opened it. */
  close(): void {
    if (this.owned) releaseConnection(this.db);
  }
}

function whereClause(filter: DeadLetterFilter): { where: string; params: unknown[] } {
  const clauses: string[] = [];
  const params: unknown[] = [];
  const equal = { handler: filter.handler, event_type: filter.type, reason: filter.reason };
  for (const [column, value] of Object.entries(equal)) {
    if (value === undefined) continue;
    clauses.push(`${column} = ?`);
    params.push(value);
  }
  if (filter.ids !== undefined) {
    // One JSON parameter, however many ids: SQLite caps the number of placeholders.
    clauses.push('id IN (SELECT value FROM json_each(?))');
    params.push(JSON.stringify(filter.ids));
  }
  return { where: clauses.length ? `WHERE ${clauses.join(' AND ')}` : '', params };
}

/** Dead letters in the store's file (or any SQLite database). */
export function createSqliteDeadLetterStore(target: SqliteTarget): SqliteDeadLetterStore {
  return new SqliteDeadLetterStore(target);
}
