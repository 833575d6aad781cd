import type { IdempotencyKeyStore, ProcessedEvents } from '@eventfabric/core';
import type { PostgresRecordsTarget } from './postgres-dead-letter-store.js';
import type { PostgresEventStore } from './postgres-event-store.js';
import { storeError, withTransaction, type PostgresTransaction } from './postgres-transaction.js';
import { assertSchemaName, quoteIdentifier } from './schema-name.js';
import {
  idempotencyKeyExists,
  purgeIdempotencyKeys,
  putIdempotencyKey,
} from './sql/idempotency-keys.js';
import { processedExists, recordProcessed } from './sql/processed-events.js';

/**
 * The idempotency record in PostgreSQL, in the store's schema.
 *
 * A transactional handling runs in a {@link PostgresTransaction} on one pooled client,
 * passed to the handler as `context.tx`. The (handler, event id) row is inserted first:
 * a concurrent delivery of the same event waits on that row's lock until the first
 * handling ends, then skips (it committed) or runs (it rolled back). The handler's
 * `tx.query` writes and `tx.appendToStream` follow-up events commit with the record, or
 * roll back with it. (`context.append` goes through the store's pool, outside the
 * transaction.)
 *
 * A non-transactional handling checks the record, runs the effect, then records it: an
 * effect interrupted before the record may run again.
 */
export class PostgresProcessedEvents implements ProcessedEvents {
  private readonly s: string;

  constructor(private readonly store: PostgresEventStore) {
    this.s = quoteIdentifier(store.schema);
  }

  async has(handler: string, eventId: string): Promise<boolean> {
    return this.run(() => processedExists(this.store.pool, this.s, handler, eventId));
  }

  async once(
    handler: string,
    eventId: string,
    effect: (tx: unknown) => Promise<void>,
    options: { transactional?: boolean } = {},
  ): Promise<boolean> {
    if (!options.transactional) {
      if (await this.has(handler, eventId)) return false;
      await effect(undefined);
      return this.run(() => recordProcessed(this.store.pool, this.s, handler, eventId));
    }
    return withTransaction(this.store, async (tx: PostgresTransaction) => {
      // Insert first: the row lock, not a read, is what serialises concurrent deliveries.
      if (!(await recordProcessed(tx, this.s, handler, eventId))) {
        tx.rollbackOnly();
        return false;
      }
      await effect(tx);
      return true;
    });
  }

  private async run<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw storeError(error, this.store.schema);
    }
  }
}

/** Keys with a TTL in PostgreSQL, for side effects outside the database. Expiry uses the server's clock. */
export class PostgresIdempotencyKeyStore implements IdempotencyKeyStore {
  private readonly s: string;

  constructor(private readonly target: PostgresRecordsTarget) {
    assertSchemaName(target.schema);
    this.s = quoteIdentifier(target.schema);
  }

  async has(key: string): Promise<boolean> {
    return this.run(() => idempotencyKeyExists(this.target.pool, this.s, key));
  }

  async put(key: string, ttlMs: number): Promise<void> {
    await this.run(async () => {
      await putIdempotencyKey(this.target.pool, this.s, key, ttlMs);
      // Expired keys are swept as new ones arrive, so the table stays the size of the window.
      if (Math.random() < 0.01) await purgeIdempotencyKeys(this.target.pool, this.s);
    });
  }

  private async run<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw storeError(error, this.target.schema);
    }
  }
}
