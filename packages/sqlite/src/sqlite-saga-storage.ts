import type Database from 'better-sqlite3';
import {
  SagaCheckpointMovedError,
  type CloudEvent,
  type SagaCheckpoint,
  type SagaInstance,
  type SagaInstanceQuery,
  type SagaStatus,
  type SagaStorage,
} from '@eventfabric/core';
import { connectionLock, type ConnectionLock } from './sqlite-database.js';
import type { SqliteEventStore } from './sqlite-event-store.js';
import { SqliteScheduledMessages } from './sqlite-scheduled-messages.js';

interface InstanceRow {
  saga: string;
  instance: string;
  status: SagaStatus;
  step: number;
  run: number;
  state: string;
  history: string;
  failure: string | null;
  started_at: string;
  updated_at: string;
}

/**
 * Saga instances, checkpoints and timeouts in the store's SQLite file (migration 007). A
 * batch runs in `BEGIN IMMEDIATE` on the store's connection: the messages sagas send are
 * appended through the store and the timeouts they set are written to `scheduled_messages`
 * on that connection, so both join the transaction and commit with the instances and the
 * checkpoint.
 */
export class SqliteSagaStorage implements SagaStorage<Database.Database> {
  readonly scheduled: SqliteScheduledMessages;
  private readonly db: Database.Database;
  private readonly lock: ConnectionLock;
  private readonly statements: ReturnType<typeof prepare>;

  constructor(private readonly store: SqliteEventStore) {
    this.db = store.db;
    this.lock = connectionLock(this.db);
    this.scheduled = new SqliteScheduledMessages(store);
    this.statements = prepare(this.db);
  }

  transaction<T>(work: (tx: Database.Database) => Promise<T>): Promise<T> {
    return this.lock.hold(async () => {
      this.db.exec('BEGIN IMMEDIATE');
      try {
        const value = await work(this.db);
        this.db.exec('COMMIT');
        return value;
      } catch (error) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw error;
      }
    });
  }

  async checkpoint(saga: string): Promise<SagaCheckpoint> {
    const row = await this.lock.run(() => this.statements.checkpoint.get(saga));
    return {
      saga,
      position: row?.position == null ? undefined : String(row.position),
      lastError: row?.last_error
        ? (JSON.parse(row.last_error) as SagaCheckpoint['lastError'])
        : undefined,
    };
  }

  async advance(
    _tx: Database.Database,
    saga: string,
    from: string | undefined,
    to: string,
  ): Promise<void> {
    const moved =
      from === undefined
        ? this.statements.start.run(saga, Number(to)).changes
        : this.statements.advance.run(Number(to), saga, Number(from)).changes;
    if (moved !== 1) {
      throw new SagaCheckpointMovedError(saga);
    }
  }

  async fail(saga: string, error: NonNullable<SagaCheckpoint['lastError']>): Promise<void> {
    await this.lock.run(() => this.statements.fail.run(saga, JSON.stringify(error)));
  }

  async load(_tx: Database.Database, saga: string, id: string): Promise<SagaInstance | undefined> {
    const row = this.statements.instance.get(saga, id);
    return row === undefined ? undefined : toInstance(row);
  }

  async save(_tx: Database.Database, instance: SagaInstance): Promise<void> {
    this.statements.save.run({
      saga: instance.saga,
      instance: instance.id,
      status: instance.status,
      step: instance.step,
      run: instance.run,
      state: JSON.stringify(instance.state ?? null),
      history: JSON.stringify(instance.history),
      failure: instance.failure === undefined ? null : JSON.stringify(instance.failure),
      started_at: instance.startedAt,
      updated_at: instance.updatedAt,
    });
  }

  async append(_tx: Database.Database, events: readonly CloudEvent[]): Promise<void> {
    // Inside `transaction`, the store's append runs on this connection and joins it.
    await this.store.appendMany(events);
  }

  async schedule(_tx: Database.Database, event: CloudEvent, dueAt: number): Promise<void> {
    await this.scheduled.schedule(event, dueAt);
  }

  async unschedule(_tx: Database.Database, id: string): Promise<void> {
    await this.scheduled.cancel(id);
  }

  async deliver(events: readonly CloudEvent[]): Promise<void> {
    await this.store.appendMany(events);
  }

  async instances(query: SagaInstanceQuery = {}): Promise<SagaInstance[]> {
    const rows = await this.lock.run(() =>
      this.statements.list.all({
        saga: query.saga ?? null,
        status: query.status ?? null,
        limit: query.limit ?? 100,
      }),
    );
    return rows.map(toInstance);
  }

  async instance(saga: string, id: string): Promise<SagaInstance | undefined> {
    const row = await this.lock.run(() => this.statements.instance.get(saga, id));
    return row === undefined ? undefined : toInstance(row);
  }
}

function prepare(db: Database.Database) {
  return {
    checkpoint: db.prepare<[string], { position: number | null; last_error: string | null }>(
      'SELECT position, last_error FROM saga_checkpoints WHERE saga = ?',
    ),
    start: db.prepare<[string, number]>(
      `INSERT INTO saga_checkpoints (saga, position) VALUES (?, ?)
       ON CONFLICT (saga) DO UPDATE SET position = excluded.position, last_error = NULL
       WHERE saga_checkpoints.position IS NULL`,
    ),
    advance: db.prepare<[number, string, number]>(
      'UPDATE saga_checkpoints SET position = ?, last_error = NULL WHERE saga = ? AND position = ?',
    ),
    fail: db.prepare<[string, string]>(
      `INSERT INTO saga_checkpoints (saga, position, last_error) VALUES (?1, NULL, ?2)
       ON CONFLICT (saga) DO UPDATE SET last_error = excluded.last_error`,
    ),
    instance: db.prepare<[string, string], InstanceRow>(
      'SELECT * FROM saga_instances WHERE saga = ? AND instance = ?',
    ),
    save: db.prepare(
      `INSERT INTO saga_instances
         (saga, instance, status, step, run, state, history, failure, started_at, updated_at)
       VALUES (@saga, @instance, @status, @step, @run, @state, @history, @failure, @started_at, @updated_at)
       ON CONFLICT (saga, instance) DO UPDATE SET status = excluded.status, step = excluded.step,
         run = excluded.run, state = excluded.state, history = excluded.history,
         failure = excluded.failure, updated_at = excluded.updated_at`,
    ),
    list: db.prepare<[{ saga: string | null; status: string | null; limit: number }], InstanceRow>(
      `SELECT * FROM saga_instances
       WHERE (@saga IS NULL OR saga = @saga) AND (@status IS NULL OR status = @status)
       ORDER BY updated_at DESC, saga, instance LIMIT @limit`,
    ),
  };
}

function toInstance(row: InstanceRow): SagaInstance {
  return {
    saga: row.saga,
    id: row.instance,
    status: row.status,
    step: row.step,
    run: row.run,
    state: JSON.parse(row.state) as unknown,
    history: JSON.parse(row.history) as SagaInstance['history'],
    failure:
      row.failure === null ? undefined : (JSON.parse(row.failure) as SagaInstance['failure']),
    startedAt: row.started_at,
    updatedAt: row.updated_at,
  };
}
