import type Database from 'better-sqlite3';
import type { IdempotencyKeyStore, ProcessedEvents } from '@eventfabric/core';
import {
  connectionLock,
  openTarget,
  releaseConnection,
  type ConnectionLock,
  type SqliteTarget,
} from './sqlite-database.js';

/**
 * The idempotency record in SQLite. A transactional handling runs inside `BEGIN IMMEDIATE`
 * on this connection, with the connection passed to the handler as `context.tx`: the
 * handler's writes through it and the (handler, event id) record commit together, or
 * roll back together. While it runs, the connection belongs to that handling alone: every
 * other user of the connection waits its turn ({@link ConnectionLock}), and follow-up
 * events the handler appends or publishes through a store on this connection join the
 * transaction. Build it from the store (`new SqliteProcessedEvents(store)`) or from the
 * store's path, so they share the connection.
 */
export class SqliteProcessedEvents implements ProcessedEvents {
  readonly db: Database.Database;
  private readonly owned: boolean;
  private readonly lock: ConnectionLock;
  private readonly exists: Database.Statement<[string, string], number>;
  private readonly record: Database.Statement;

  constructor(target: SqliteTarget) {
    ({ db: this.db, owned: this.owned } = openTarget(target));
    this.lock = connectionLock(this.db);
    this.exists = this.db
      .prepare<[string, string], number>(
        'SELECT 1 FROM processed_events WHERE handler = ? AND event_id = ?',
      )
      .pluck();
    this.record = this.db.prepare(
      'INSERT INTO processed_events (handler, event_id, processed_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
    );
  }

  async has(handler: string, eventId: string): Promise<boolean> {
    return (await this.lock.run(() => this.exists.get(handler, eventId))) !== undefined;
  }

  async once(
    handler: string,
    eventId: string,
    effect: (tx: unknown) => Promise<void>,
    options: { transactional?: boolean } = {},
  ): Promise<boolean> {
    if (!options.transactional) {
      if ((await this.lock.run(() => this.exists.get(handler, eventId))) !== undefined)
        return false;
      await effect(undefined);
      return (
        (await this.lock.run(() => this.record.run(handler, eventId, Date.now()))).changes === 1
      );
    }
    return this.lock.hold(async () => {
      this.db.exec('BEGIN IMMEDIATE');
      try {
        if (this.exists.get(handler, eventId) !== undefined) {
          this.db.exec('ROLLBACK');
          return false;
        }
        await effect(this.db);
        this.record.run(handler, eventId, Date.now());
        this.db.exec('COMMIT');
        return true;
      } catch (error) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw error;
      }
    });
  }

  close(): void {
    if (this.owned) releaseConnection(this.db);
  }
}

/** Keys with a TTL in SQLite, for side effects outside the database. */
export class SqliteIdempotencyKeyStore implements IdempotencyKeyStore {
  private readonly db: Database.Database;
  private readonly owned: boolean;
  private readonly lock: ConnectionLock;
  private readonly get: Database.Statement<[string, number], number>;
  private readonly upsert: Database.Statement;
  private readonly purge: Database.Statement;

  constructor(target: SqliteTarget) {
    ({ db: this.db, owned: this.owned } = openTarget(target));
    this.lock = connectionLock(this.db);
    this.get = this.db
      .prepare<[string, number], number>(
        'SELECT 1 FROM idempotency_keys WHERE key = ? AND expires_at > ?',
      )
      .pluck();
    this.upsert = this.db.prepare(
      'INSERT INTO idempotency_keys (key, expires_at) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at',
    );
    this.purge = this.db.prepare('DELETE FROM idempotency_keys WHERE expires_at <= ?');
  }

  async has(key: string): Promise<boolean> {
    return (await this.lock.run(() => this.get.get(key, Date.now()))) !== undefined;
  }

  async put(key: string, ttlMs: number): Promise<void> {
    const now = Date.now();
    await this.lock.run(() => {
      this.upsert.run(key, now + ttlMs);
      // Expired keys are swept as new ones arrive, so the table stays the size of the window.
      if (Math.random() < 0.01) this.purge.run(now);
    });
  }

  close(): void {
    if (this.owned) releaseConnection(this.db);
  }
}
