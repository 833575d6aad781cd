import Database from 'better-sqlite3';
import { InvalidArgumentError } from '@eventfabric/core';
import { migrate } from './migrations/index.js';
import type { SqliteEventStore } from './sqlite-event-store.js';

/** A store, an open better-sqlite3 database, or a path: where consumer records live. */
export type SqliteTarget = SqliteEventStore | Database.Database | string;

/**
 * Resolve a target to a migrated connection. A path opens a new connection (WAL,
 * synchronous=FULL, busy_timeout); a store or database is shared, not owned.
 */
export function openTarget(target: SqliteTarget): { db: Database.Database; owned: boolean } {
  if (typeof target === 'string') {
    if (target === '') throw new InvalidArgumentError('a SQLite path must be non-empty');
    const db = new Database(target);
    db.pragma('busy_timeout = 5000');
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    migrate(db);
    return { db, owned: true };
  }
  const db = target instanceof Database ? target : (target as SqliteEventStore).db;
  if (!(db instanceof Database))
    throw new InvalidArgumentError('expected a SqliteEventStore, a Database or a path');
  migrate(db);
  return { db, owned: false };
}

/** Serialises async work on one connection: a transaction that spans awaits owns it. */
export class ConnectionLock {
  private tail: Promise<void> = Promise.resolve();

  async run<T>(work: () => Promise<T>): Promise<T> {
    const previous = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>((resolve) => (release = resolve));
    await previous;
    try {
      return await work();
    } finally {
      release();
    }
  }
}
