import type Database from 'better-sqlite3';
import type { ConnectionLock } from '@eventfabric/sqlite';
import type { SqlTransaction } from './sql.js';

interface Pending {
  work: (tx: SqlTransaction) => Promise<unknown>;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/** Units of work per transaction, at most. */
const MAX_BATCH = 100;

/**
 * Group commit for units of work on the embedded database. SQLite commits one transaction at
 * a time and each commit is an fsync (`synchronous=FULL`), so one transaction per mutation
 * caps the rate at the disk's fsyncs per second. Units that arrive while a transaction is in
 * flight wait for the next one, which runs them one after the other, each inside its own
 * SAVEPOINT (a unit that throws is rolled back alone, and only its caller sees the error),
 * and commits them all with one fsync. Every caller hears back only after that COMMIT: a
 * unit's writes and events are durable, or not there at all.
 */
export class GroupCommit {
  private readonly queue: Pending[] = [];
  private draining = false;

  constructor(
    private readonly db: Database.Database,
    private readonly lock: ConnectionLock,
    private readonly tx: () => SqlTransaction,
  ) {}

  run<T>(work: (tx: SqlTransaction) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
      if (!this.draining) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, MAX_BATCH);
        await this.lock.hold(() => this.commit(batch));
      }
    } finally {
      this.draining = false;
    }
  }

  private async commit(batch: Pending[]): Promise<void> {
    const db = this.db;
    const outcomes: ({ ok: true; value: unknown } | { ok: false; error: unknown })[] = [];
    try {
      db.exec('BEGIN IMMEDIATE');
    } catch (error) {
      for (const item of batch) item.reject(error);
      return;
    }
    for (const item of batch) {
      db.exec('SAVEPOINT habitat_unit');
      try {
        const value = await item.work(this.tx());
        db.exec('RELEASE habitat_unit');
        outcomes.push({ ok: true, value });
      } catch (error) {
        if (!db.inTransaction) {
          // SQLite ended the transaction itself (a disk error): nothing of the batch stays.
          for (const other of batch) other.reject(error);
          return;
        }
        db.exec('ROLLBACK TO habitat_unit');
        db.exec('RELEASE habitat_unit');
        outcomes.push({ ok: false, error });
      }
    }
    try {
      db.exec('COMMIT');
    } catch (error) {
      if (db.inTransaction) db.exec('ROLLBACK');
      for (const item of batch) item.reject(error);
      return;
    }
    batch.forEach((item, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) item.resolve(outcome.value);
      else item.reject(outcome.error);
    });
  }
}
