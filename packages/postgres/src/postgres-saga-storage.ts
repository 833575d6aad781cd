import {
  SagaCheckpointMovedError,
  type CloudEvent,
  type SagaCheckpoint,
  type SagaInstance,
  type SagaInstanceQuery,
  type SagaStatus,
  type SagaStorage,
} from '@eventfabric/core';
import type { PostgresEventStore } from './postgres-event-store.js';
import { PostgresScheduledMessages } from './postgres-scheduled-messages.js';
import { storeError, withTransaction, type PostgresTransaction } from './postgres-transaction.js';
import { quoteIdentifier } from './schema-name.js';

interface InstanceRow {
  saga: string;
  instance: string;
  status: SagaStatus;
  step: number;
  run: number;
  state: unknown;
  history: SagaInstance['history'];
  failure: SagaInstance['failure'] | null;
  started_at: Date;
  updated_at: Date;
}

/**
 * Saga instances, checkpoints and timeouts in the store's PostgreSQL schema (migration 008).
 * A batch runs in one {@link withTransaction}: the messages sagas send are appended with
 * `tx.appendToStream` and their timeouts inserted into `scheduled_messages` in it, so both
 * commit with the instances and the checkpoint (and subscribers see the messages after
 * COMMIT).
 */
export class PostgresSagaStorage implements SagaStorage<PostgresTransaction> {
  readonly scheduled: PostgresScheduledMessages;
  private readonly s: string;

  constructor(private readonly store: PostgresEventStore) {
    this.s = quoteIdentifier(store.schema);
    this.scheduled = new PostgresScheduledMessages(store);
  }

  transaction<T>(work: (tx: PostgresTransaction) => Promise<T>): Promise<T> {
    return withTransaction(this.store, work);
  }

  async checkpoint(saga: string): Promise<SagaCheckpoint> {
    const { rows } = await this.run(() =>
      this.store.pool.query<{ position: string | null; last_error: SagaCheckpoint['lastError'] }>(
        `SELECT position, last_error FROM ${this.s}.saga_checkpoints WHERE saga = $1`,
        [saga],
      ),
    );
    return {
      saga,
      position: rows[0]?.position ?? undefined,
      lastError: rows[0]?.last_error ?? undefined,
    };
  }

  async advance(
    tx: PostgresTransaction,
    saga: string,
    from: string | undefined,
    to: string,
  ): Promise<void> {
    const result =
      from === undefined
        ? await tx.query(
            `INSERT INTO ${this.s}.saga_checkpoints (saga, position) VALUES ($1, $2)
             ON CONFLICT (saga) DO UPDATE SET position = excluded.position, last_error = NULL
             WHERE ${this.s}.saga_checkpoints.position IS NULL`,
            [saga, to],
          )
        : await tx.query(
            `UPDATE ${this.s}.saga_checkpoints SET position = $1, last_error = NULL
             WHERE saga = $2 AND position = $3`,
            [to, saga, from],
          );
    if (result.rowCount !== 1) throw new SagaCheckpointMovedError(saga);
  }

  async fail(saga: string, error: NonNullable<SagaCheckpoint['lastError']>): Promise<void> {
    await this.run(() =>
      this.store.pool.query(
        `INSERT INTO ${this.s}.saga_checkpoints (saga, position, last_error) VALUES ($1, NULL, $2)
         ON CONFLICT (saga) DO UPDATE SET last_error = excluded.last_error`,
        [saga, JSON.stringify(error)],
      ),
    );
  }

  async load(tx: PostgresTransaction, saga: string, id: string): Promise<SagaInstance | undefined> {
    // FOR UPDATE: a second daemon handling the same instance waits, then fails its advance.
    const { rows } = await tx.query<InstanceRow>(
      `SELECT * FROM ${this.s}.saga_instances WHERE saga = $1 AND instance = $2 FOR UPDATE`,
      [saga, id],
    );
    return rows[0] === undefined ? undefined : toInstance(rows[0]);
  }

  async save(tx: PostgresTransaction, instance: SagaInstance): Promise<void> {
    await tx.query(
      `INSERT INTO ${this.s}.saga_instances
         (saga, instance, status, step, run, state, history, failure, started_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
       ON CONFLICT (saga, instance) DO UPDATE SET status = excluded.status, step = excluded.step,
         run = excluded.run, state = excluded.state, history = excluded.history,
         failure = excluded.failure, updated_at = excluded.updated_at`,
      [
        instance.saga,
        instance.id,
        instance.status,
        instance.step,
        instance.run,
        JSON.stringify(instance.state ?? null),
        JSON.stringify(instance.history),
        instance.failure === undefined ? null : JSON.stringify(instance.failure),
        instance.startedAt,
        instance.updatedAt,
      ],
    );
  }

  async append(tx: PostgresTransaction, events: readonly CloudEvent[]): Promise<void> {
    // One append per run of consecutive events to the same stream keeps their order.
    let start = 0;
    while (start < events.length) {
      const stream = events[start]!.subject!;
      let end = start + 1;
      while (end < events.length && events[end]!.subject === stream) end++;
      await tx.appendToStream(stream, events.slice(start, end));
      start = end;
    }
  }

  async schedule(tx: PostgresTransaction, event: CloudEvent, dueAt: number): Promise<void> {
    await tx.query(
      `INSERT INTO ${this.s}.scheduled_messages (id, due_at, event) VALUES ($1, $2, $3)
       ON CONFLICT (id) DO NOTHING`,
      [event.id, dueAt, JSON.stringify(event)],
    );
  }

  async unschedule(tx: PostgresTransaction, id: string): Promise<void> {
    await tx.query(
      `DELETE FROM ${this.s}.scheduled_messages WHERE id = $1 AND locked_until <= $2`,
      [id, Date.now()],
    );
  }

  async deliver(events: readonly CloudEvent[]): Promise<void> {
    await this.store.appendMany(events);
  }

  async instances(query: SagaInstanceQuery = {}): Promise<SagaInstance[]> {
    const { rows } = await this.run(() =>
      this.store.pool.query<InstanceRow>(
        `SELECT * FROM ${this.s}.saga_instances
         WHERE ($1::text IS NULL OR saga = $1) AND ($2::text IS NULL OR status = $2)
         ORDER BY updated_at DESC, saga, instance LIMIT $3`,
        [query.saga ?? null, query.status ?? null, query.limit ?? 100],
      ),
    );
    return rows.map(toInstance);
  }

  async instance(saga: string, id: string): Promise<SagaInstance | undefined> {
    const { rows } = await this.run(() =>
      this.store.pool.query<InstanceRow>(
        `SELECT * FROM ${this.s}.saga_instances WHERE saga = $1 AND instance = $2`,
        [saga, id],
      ),
    );
    return rows[0] === undefined ? undefined : toInstance(rows[0]);
  }

  private async run<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw storeError(error, this.store.schema);
    }
  }
}

function toInstance(row: InstanceRow): SagaInstance {
  return {
    saga: row.saga,
    id: row.instance,
    status: row.status,
    step: row.step,
    run: row.run,
    state: row.state,
    history: row.history,
    failure: row.failure ?? undefined,
    startedAt: row.started_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}
