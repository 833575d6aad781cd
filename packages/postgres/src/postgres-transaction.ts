import type { PoolClient, QueryResult, QueryResultRow } from 'pg';
import {
  EventFabricError,
  InvalidArgumentError,
  StoreUnavailableError,
  WrongExpectedVersionError,
  type AppendOptions,
  type AppendResult,
} from '@eventfabric/core';
import { DatabaseError, isConnectionError, type Pool } from './driver.js';
import type { PostgresEventStore } from './postgres-event-store.js';

/**
 * One PostgreSQL transaction on one pooled client: the application's writes (`query`) and
 * events (`appendToStream`) commit together or not at all. Given to the function passed to
 * {@link withTransaction}, and to a transactional handler as `context.tx`.
 *
 * Operations run one at a time, in call order, even when called concurrently.
 */
export class PostgresTransaction {
  private tail: Promise<unknown> = Promise.resolve();
  private ended = false;
  /** Set when an append stored events: the store notifies subscribers after COMMIT. */
  private appended = false;
  /** Set when the transaction may only roll back; `cause` is rethrown by withTransaction. */
  private doomed: { cause: unknown } | undefined;

  /** Use {@link withTransaction}. */
  constructor(
    /** The client holding the transaction; prefer `query`, which keeps operations in order. */
    readonly client: PoolClient,
    private readonly store: PostgresEventStore,
  ) {}

  /** Run one statement in the transaction. A failed statement aborts the transaction. */
  query<R extends QueryResultRow = QueryResultRow>(
    text: string,
    params?: readonly unknown[],
  ): Promise<QueryResult<R>> {
    return this.serial(() => this.client.query<R>(text, params as unknown[] | undefined));
  }

  /**
   * `store.appendToStream` inside the transaction, with the same idempotent retry and
   * expected-version rules. The events become visible to readers and subscribers only at
   * commit. A WRONG_EXPECTED_VERSION dooms the whole transaction: it rolls back even if the
   * caller catches the error, and withTransaction rethrows it.
   */
  appendToStream(
    streamId: string,
    events: readonly unknown[],
    options?: AppendOptions,
  ): Promise<AppendResult> {
    return this.serial(async () => {
      try {
        const result = await this.store.appendWith(this.savepointed, streamId, events, options);
        if (!result.deduplicated) this.appended = true;
        return result;
      } catch (error) {
        if (error instanceof WrongExpectedVersionError) this.doomed ??= { cause: error };
        throw error;
      }
    });
  }

  /** Roll back at the end instead of committing; `cause`, if given, is thrown then. @internal */
  rollbackOnly(cause?: unknown): void {
    this.doomed ??= { cause };
  }

  /** @internal */
  get rollbackCause(): { cause: unknown } | undefined {
    return this.doomed;
  }

  /** @internal Whether an append in this transaction stored events. */
  get appendedEvents(): boolean {
    return this.appended;
  }

  /** @internal Called once the transaction ended: later operations fail. */
  end(): void {
    this.ended = true;
  }

  /**
   * A client whose statements each run under a savepoint, so a failed one (a lost race on a
   * stream version, a duplicate event id) leaves the transaction usable for the retry.
   */
  private readonly savepointed = {
    query: async (...args: unknown[]): Promise<unknown> => {
      const query = this.client.query.bind(this.client) as (...a: unknown[]) => Promise<unknown>;
      await this.client.query('SAVEPOINT eventfabric_append');
      try {
        const result = await query(...args);
        await this.client.query('RELEASE SAVEPOINT eventfabric_append');
        return result;
      } catch (error) {
        await this.client.query('ROLLBACK TO SAVEPOINT eventfabric_append');
        throw error;
      }
    },
  } as unknown as Pick<Pool, 'query'>;

  private serial<T>(work: () => Promise<T>): Promise<T> {
    if (this.ended) {
      return Promise.reject(
        new InvalidArgumentError('this transaction has ended: use it only inside its function'),
      );
    }
    const run = this.tail.then(work, work);
    this.tail = run.catch(() => undefined);
    return run;
  }
}

/**
 * Run `fn` in one transaction on one pooled client: BEGIN, `fn(tx)`, COMMIT. When `fn`
 * throws, or an append in it met WRONG_EXPECTED_VERSION, everything rolls back, no event
 * stays behind, and the error is rethrown. When the transaction appended events, the store
 * sends its NOTIFY only after COMMIT succeeded, so subscribers see them only once committed.
 *
 * The client stays out of the pool until `fn` settles, and `$all` readers stop below the
 * first event the transaction appended until it ends: keep transactions short.
 * @throws StoreUnavailableError when BEGIN or COMMIT fails
 */
export async function withTransaction<T>(
  store: PostgresEventStore,
  fn: (tx: PostgresTransaction) => Promise<T>,
): Promise<T> {
  const client = await store.pool.connect().catch((error: unknown) => {
    throw storeError(error, store.schema);
  });
  // A checked-out client has no pool listener: its connection dying must not crash the process.
  const onError = (): void => undefined;
  client.on('error', onError);
  const tx = new PostgresTransaction(client, store);
  let broken: Error | undefined;
  try {
    await client.query('BEGIN').catch((error: unknown) => {
      throw storeError(error, store.schema);
    });
    let value: T;
    try {
      value = await fn(tx);
    } catch (error) {
      tx.end();
      await client.query('ROLLBACK').catch((rollbackError: Error) => (broken = rollbackError));
      throw error;
    }
    tx.end();
    const doomed = tx.rollbackCause;
    if (doomed) {
      await client.query('ROLLBACK').catch((rollbackError: Error) => (broken = rollbackError));
      if (doomed.cause !== undefined) throw doomed.cause;
      return value;
    }
    const commit = await client.query('COMMIT').catch((error: Error) => {
      broken = error;
      throw storeError(error, store.schema);
    });
    // COMMIT of a transaction aborted by a failed statement that `fn` caught rolls back.
    if (commit.command === 'ROLLBACK') {
      throw new StoreUnavailableError(
        'the transaction was rolled back: a statement in it failed and was caught',
        { schema: store.schema },
      );
    }
    if (tx.appendedEvents) store.notifyAppended();
    return value;
  } finally {
    // A client whose transaction state is unknown is destroyed, not handed to the next user.
    client.removeListener('error', onError);
    client.release(broken);
  }
}

/** Our own errors pass through; the driver's become STORE_UNAVAILABLE. @internal */
export function storeError(error: unknown, schema: string): unknown {
  if (error instanceof EventFabricError) return error;
  const code = error instanceof DatabaseError ? error.code : undefined;
  return new StoreUnavailableError(
    `PostgreSQL: ${(error as Error).message}`,
    {
      schema,
      ...(code === undefined ? {} : { sqlState: code }),
      ...(isConnectionError(error) ? { retryable: true } : {}),
    },
    { cause: error },
  );
}
