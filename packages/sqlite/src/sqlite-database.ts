import { AsyncLocalStorage } from 'node:async_hooks';
import { resolve } from 'node:path';
import Database from 'better-sqlite3';
import { InvalidArgumentError } from '@eventfabric/core';
import { migrate } from './migrations/index.js';
import type { SqliteEventStore } from './sqlite-event-store.js';

/** A store, an open better-sqlite3 database, or a path: where consumer records live. */
export type SqliteTarget = SqliteEventStore | Database.Database | string;

/**
 * Resolve a target to a migrated connection. A path takes the process's shared connection to
 * that file (WAL, synchronous=FULL, busy_timeout); a store or database is used, not owned.
 */
export function openTarget(target: SqliteTarget): { db: Database.Database; owned: boolean } {
  if (typeof target === 'string') {
    if (target === '') throw new InvalidArgumentError('a SQLite path must be non-empty');
    const db = acquireConnection(target, { synchronous: 'FULL', busyTimeoutMs: 5000 });
    migrate(db);
    return { db, owned: true };
  }
  const db = target instanceof Database ? target : (target as SqliteEventStore).db;
  if (!(db instanceof Database))
    throw new InvalidArgumentError('expected a SqliteEventStore, a Database or a path');
  migrate(db);
  return { db, owned: false };
}

const shared = new Map<string, { db: Database.Database; refs: number }>();

/**
 * The process's connection to a database file, opened (WAL, the given synchronous level and
 * busy timeout) on first use. Every store and record keeper opened by path in this process
 * shares it, and with it one {@link ConnectionLock}. Release with {@link releaseConnection}.
 */
export function acquireConnection(
  file: string,
  settings: { synchronous: 'FULL' | 'NORMAL'; busyTimeoutMs: number },
): Database.Database {
  const key = file === ':memory:' ? `:memory:${Math.random()}` : resolve(file);
  const entry = shared.get(key);
  if (entry && entry.db.open) {
    entry.refs++;
    return entry.db;
  }
  const db = new Database(file);
  try {
    db.pragma(`busy_timeout = ${settings.busyTimeoutMs}`);
    if (file !== ':memory:') db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${settings.synchronous}`);
  } catch (error) {
    db.close();
    throw error;
  }
  shared.set(key, { db, refs: 1 });
  connectionKeys.set(db, key);
  return db;
}

const connectionKeys = new WeakMap<Database.Database, string>();

/** Drop one reference to a shared connection; the last one closes it. */
export function releaseConnection(db: Database.Database): void {
  const key = connectionKeys.get(db);
  const entry = key === undefined ? undefined : shared.get(key);
  if (!entry || entry.db !== db) {
    if (db.open) db.close();
    return;
  }
  if (--entry.refs > 0) return;
  shared.delete(key!);
  if (db.open) db.close();
}

/**
 * Who may use a connection while a transaction spans awaits on it.
 *
 * A transactional handler holds `BEGIN IMMEDIATE` on the store's connection while it awaits
 * its own work. Anything else on that connection in the meantime would silently join its
 * transaction (and vanish if it rolls back), and a synchronous busy-wait on another
 * connection of this process would block the event loop the transaction needs to finish:
 * a deadlock until the busy timeout. So one connection per file carries every write, and:
 *
 * - {@link ConnectionLock.hold} runs async work as the connection's only user;
 * - {@link ConnectionLock.run} runs every other (synchronous) operation at once when the
 *   connection is free, else in turn. Work started inside `hold` (a handler appending
 *   follow-up events) passes straight through and joins the transaction: the effect, the
 *   processed-event record and the follow-ups commit together.
 *
 * Components opened by path share one connection per file in a process (see
 * {@link acquireConnection}), so they share its lock too.
 */
export class ConnectionLock {
  private static readonly holder = new AsyncLocalStorage<ConnectionLock>();
  private tail: Promise<void> = Promise.resolve();
  private pending = 0;

  /**
   * Run synchronous work on the connection: at once when nobody holds it (or this async
   * context does), else in turn, first come first served.
   */
  run<T>(work: () => T): T | Promise<T> {
    if (this.pending === 0 || ConnectionLock.holder.getStore() === this) return work();
    return this.enqueue(async () => work());
  }

  /** Run async work as the connection's only user, in turn; re-entrant within `work`. */
  hold<T>(work: () => Promise<T>): Promise<T> {
    if (ConnectionLock.holder.getStore() === this) return work();
    return this.enqueue(() => ConnectionLock.holder.run(this, work));
  }

  private async enqueue<T>(work: () => Promise<T>): Promise<T> {
    const previous = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>((resolve) => (release = resolve));
    this.pending++;
    try {
      await previous;
      return await work();
    } finally {
      this.pending--;
      release();
    }
  }
}

const locks = new WeakMap<Database.Database, ConnectionLock>();

/** The lock of a connection, shared by every component that uses it. */
export function connectionLock(db: Database.Database): ConnectionLock {
  let lock = locks.get(db);
  if (!lock) {
    lock = new ConnectionLock();
    locks.set(db, lock);
  }
  return lock;
}
