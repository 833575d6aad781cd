import {
  DeadLetterNotFoundError,
  stampDeadLetter,
  type DeadLetter,
  type DeadLetterFilter,
  type DeadLetterStore,
  type FailureNote,
} from '@eventfabric/core';
import type { Pool } from './driver.js';
import { storeError } from './postgres-transaction.js';
import { assertSchemaName, quoteIdentifier } from './schema-name.js';
import { clearHandlerFailures, noteHandlerFailure } from './sql/dead-letters-failures.js';
import { countDeadLetters, getDeadLetter, listDeadLetters } from './sql/dead-letters-read.js';
import { deleteDeadLetters, insertDeadLetter } from './sql/dead-letters-write.js';

/**
 * Where consumer records live: a pool and the schema the store's migrations created
 * (migration 2). A {@link PostgresEventStore} is one.
 */
export interface PostgresRecordsTarget {
  readonly pool: Pool;
  readonly schema: string;
}

/**
 * Dead letters in PostgreSQL. Each write is one autocommitted statement, so `add` is durable
 * (the server's `synchronous_commit`) before it resolves.
 */
export class PostgresDeadLetterStore implements DeadLetterStore {
  private readonly pool: Pool;
  private readonly schema: string;
  private readonly s: string;

  constructor(target: PostgresRecordsTarget) {
    assertSchemaName(target.schema);
    this.pool = target.pool;
    this.schema = target.schema;
    this.s = quoteIdentifier(target.schema);
  }

  async add(entry: Omit<DeadLetter, 'id' | 'deadLetteredAt'>): Promise<DeadLetter> {
    const stamped = stampDeadLetter(entry);
    return this.run(() => insertDeadLetter(this.pool, this.s, stamped));
  }

  async list(filter: DeadLetterFilter = {}): Promise<DeadLetter[]> {
    return this.run(() => listDeadLetters(this.pool, this.s, filter));
  }

  async get(id: string): Promise<DeadLetter> {
    const entry = await this.run(() => getDeadLetter(this.pool, this.s, id));
    if (!entry) throw new DeadLetterNotFoundError(id);
    return entry;
  }

  async remove(ids: readonly string[]): Promise<number> {
    if (ids.length === 0) return 0;
    return this.run(() => deleteDeadLetters(this.pool, this.s, ids));
  }

  async count(filter: Omit<DeadLetterFilter, 'limit' | 'ids'> = {}): Promise<number> {
    return this.run(() => countDeadLetters(this.pool, this.s, filter));
  }

  async noteFailure(handler: string, eventId: string, at: Date): Promise<FailureNote> {
    return this.run(() =>
      noteHandlerFailure(this.pool, this.s, handler, eventId, at.toISOString()),
    );
  }

  async clearFailures(handler: string, eventId: string): Promise<void> {
    await this.run(() => clearHandlerFailures(this.pool, this.s, handler, eventId));
  }

  private async run<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw storeError(error, this.schema);
    }
  }
}

/** Dead letters in the store's schema (or any schema migrated by `migrate`). */
export function createPostgresDeadLetterStore(
  target: PostgresRecordsTarget,
): PostgresDeadLetterStore {
  return new PostgresDeadLetterStore(target);
}
