import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { StoreUnavailableError } from '@eventfabric/core';

/**
 * Run `work` in a `BEGIN IMMEDIATE` transaction on a connection whose busy timeout is 0, and
 * retry asynchronously while another connection holds the write lock.
 *
 * A synchronous busy wait would block the event loop, and in one process the lock holder
 * may be a connection that only commits when this event loop runs again (a handler's
 * transaction spanning awaits): waiting synchronously would deadlock until the timeout.
 *
 * @throws StoreUnavailableError when the lock stays taken for `timeoutMs`, or SQLite fails
 */
export async function writeWhenFree<T>(
  db: Database.Database,
  work: () => T,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  const transaction = db.transaction(work);
  for (let delay = 1; ; delay = Math.min(delay * 2, 20)) {
    try {
      return transaction.immediate();
    } catch (error) {
      if (!isBusy(error) || Date.now() >= deadline) throw toStoreError(error);
    }
    await sleep(delay);
  }
}

/** True for SQLITE_BUSY and its extended codes: another connection holds the lock. */
export function isBusy(error: unknown): boolean {
  return error instanceof Database.SqliteError && error.code.startsWith('SQLITE_BUSY');
}

/** SQLite's errors become STORE_UNAVAILABLE; our own pass through. */
export function toStoreError(error: unknown): unknown {
  if (error instanceof Database.SqliteError) {
    return new StoreUnavailableError(
      `SQLite: ${error.message}`,
      { sqliteCode: error.code },
      { cause: error },
    );
  }
  return error;
}
