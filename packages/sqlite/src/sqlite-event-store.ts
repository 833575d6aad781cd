import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import {
  SubscriptionSet,
  DEFAULT_STORE_LIMITS,
  InvalidArgumentError,
  StoreClosedError,
  StoreUnavailableError,
  WrongExpectedVersionError,
  aggregateStreamWithSnapshots,
  assertExpectedVersion,
  assertStreamId,
  checkExpectedVersion,
  prepareAppend,
  readStreamWindow,
  resolveCorrelationRead,
  resolveEarlierAppend,
  resolveLimits,
  resolveReadAll,
  streamCategory,
  type AggregateSource,
  type AggregateStreamOptions,
  type AggregateStreamResult,
  type AppendOptions,
  type AppendResult,
  type EventSchemas,
  type EventStore,
  type EventStoreCommonOptions,
  type PreparedEvent,
  type ReadAllOptions,
  type ReadByCorrelationOptions,
  type ReadStreamOptions,
  type SchemaStorage,
  type StoreLimits,
  type StoredEvent,
  type StoredSchemaRecord,
  type SubscribeOptions,
  type Subscription,
  prepareAppendMany,
  type AppendManyResult,
  type PreparedStreamEvent,
} from '@eventfabric/core';
import { createAppendMany } from './append-many.js';
import { AppendSignal } from './append-signal.js';
import { makeDirectories } from './make-directories.js';
import {
  acquireConnection,
  connectionLock,
  releaseConnection,
  type ConnectionLock,
} from './sqlite-database.js';
import { migrate } from './migrations/index.js';
import { prepareFindEventById } from './sql/find-event-by-id.js';
import { prepareHeadPosition, preparePositionAt } from './sql/head-position.js';
import { prepareInsertEvent } from './sql/insert-event.js';
import { ReadAllQuery } from './sql/read-all.js';
import { prepareReadByCorrelation } from './sql/read-by-correlation.js';
import { prepareReadStreamBackwards, prepareReadStreamForwards } from './sql/read-stream.js';
import { toStoredEvent, type EventRow } from './sql/row.js';
import { SchemaQueries } from './sql/schemas.js';
import { SnapshotQueries } from './sql/snapshots.js';
import { prepareStreamVersion } from './sql/stream-version.js';

/** Options for {@link SqliteEventStore}. */
export interface SqliteEventStoreOptions extends EventStoreCommonOptions {
  /** Database file, or `:memory:`. Its directory is created when missing. */
  path: string;
  /**
   * `FULL` makes each commit durable against power loss (an fsync per commit); `NORMAL`
   * survives a process crash but may lose the last commits on power loss.
   * @defaultValue `'FULL'`
   */
  synchronous?: 'FULL' | 'NORMAL';
  /**
   * How long a writer waits for another connection's write lock, in ms.
   * @defaultValue 5000
   */
  busyTimeoutMs?: number;
  /**
   * Backstop wake-up for subscriptions when file-change notifications are unavailable.
   * @defaultValue 1000
   */
  safetyTickMs?: number;
}

const MAX_POSITION = 2n ** 63n - 1n;

/**
 * The embedded {@link EventStore}: one SQLite file in WAL mode.
 *
 * Writes take `BEGIN IMMEDIATE`, so the expected-version check and the insert are atomic
 * across connections and processes, and positions (the rowid) commit in order: SQLite has
 * one writer at a time, so `$all` has no gaps to detect.
 */
export class SqliteEventStore implements EventStore, SchemaStorage {
  /** The underlying connection, for tests and tools. */
  readonly db: Database.Database;
  private readonly limits: StoreLimits;
  private readonly snapshotEvery: number;
  private readonly signal: AppendSignal;
  private readonly subscriptions = new SubscriptionSet();
  private readonly statements;
  private readonly readAllQuery: ReadAllQuery;
  private readonly snapshotQueries: SnapshotQueries;
  private readonly schemaQueries: SchemaQueries;
  private readonly appendTransaction: (
    streamId: string,
    prepared: PreparedEvent[],
    expected: AppendOptions['expectedVersion'],
  ) => AppendResult;
  private readonly appendManyTransaction: (prepared: PreparedStreamEvent[]) => AppendManyResult;
  private closed = false;
  /** Every use of the connection goes through it: see {@link ConnectionLock}. */
  private readonly lock: ConnectionLock;
  private schemas: EventSchemas | undefined;

  constructor(private readonly options: SqliteEventStoreOptions) {
    if (
      typeof options !== 'object' ||
      options === null ||
      typeof options.path !== 'string' ||
      options.path === ''
    ) {
      throw new InvalidArgumentError('SqliteEventStore needs a path');
    }
    const synchronous = options.synchronous ?? 'FULL';
    if (synchronous !== 'FULL' && synchronous !== 'NORMAL') {
      throw new InvalidArgumentError('synchronous must be "FULL" or "NORMAL"', { synchronous });
    }
    this.limits = resolveLimits(options.limits, DEFAULT_STORE_LIMITS);
    this.schemas = options.schemas;
    this.snapshotEvery = positiveInteger(options.snapshotEvery, 100, 'snapshotEvery');
    const busyTimeout = positiveInteger(options.busyTimeoutMs, 5000, 'busyTimeoutMs');
    const file = options.path === ':memory:' ? options.path : resolve(options.path);
    this.db = openDatabase(file, { synchronous, busyTimeoutMs: busyTimeout });
    this.lock = connectionLock(this.db);
    try {
      migrate(this.db);
    } catch (error) {
      releaseConnection(this.db);
      throw new StoreUnavailableError(
        `cannot initialise ${file}: ${(error as Error).message}`,
        { path: file },
        {
          cause: error,
        },
      );
    }
    this.signal = new AppendSignal(
      file,
      positiveInteger(options.safetyTickMs, 1000, 'safetyTickMs'),
    );
    this.statements = {
      insert: prepareInsertEvent(this.db),
      streamVersion: prepareStreamVersion(this.db),
      findById: prepareFindEventById(this.db),
      forwards: prepareReadStreamForwards(this.db),
      backwards: prepareReadStreamBackwards(this.db),
      byCorrelation: prepareReadByCorrelation(this.db),
      head: prepareHeadPosition(this.db),
      positionAt: preparePositionAt(this.db),
    };
    this.readAllQuery = new ReadAllQuery(this.db);
    this.snapshotQueries = new SnapshotQueries(this.db);
    this.schemaQueries = new SchemaQueries(this.db);
    const append = this.db.transaction(
      (streamId: string, prepared: PreparedEvent[], expected: AppendOptions['expectedVersion']) =>
        this.write(streamId, prepared, expected ?? 'any'),
    );
    this.appendTransaction = (streamId, prepared, expected) =>
      append.immediate(streamId, prepared, expected);
    this.appendManyTransaction = createAppendMany(this.db, this.statements);
  }

  async appendToStream(
    streamId: string,
    events: readonly unknown[],
    options: AppendOptions = {},
  ): Promise<AppendResult> {
    this.assertOpen();
    // `null` is not a form of 'any': only an omitted option defaults.
    const expected = options.expectedVersion === undefined ? 'any' : options.expectedVersion;
    assertExpectedVersion(expected);
    const prepared = prepareAppend(streamId, events, this.limits, {
      schemas: this.schemas,
      allowForeignTypes: this.options.allowForeignTypes,
    });
    const result = await this.lock.run(() => {
      try {
        return this.appendTransaction(streamId, prepared, expected);
      } catch (error) {
        // A client retrying after a timeout resends stored ids: answer with the original
        // result instead of a version conflict or a unique-constraint failure.
        if (error instanceof WrongExpectedVersionError || isUniqueEventIdViolation(error)) {
          const earlier = this.findEarlierAppend(streamId, prepared);
          if (earlier) return earlier;
        }
        throw wrapSqliteError(error);
      }
    });
    if (!result.deduplicated) this.signal.notify();
    return result;
  }

  /**
   * Append events each to its own stream (its `subject`), in the order given, in one
   * transaction, with expected version `'any'`: what a transport's publish needs. Order per
   * partition key holds because positions follow the order given. An event whose id is
   * already stored with the same stream, type and data is not written again and keeps its
   * first position; a different event under a stored id fails with DUPLICATE_EVENT_ID. Any
   * failure writes nothing.
   */
  async appendMany(events: readonly unknown[]): Promise<AppendManyResult> {
    this.assertOpen();
    const prepared = prepareAppendMany(events, this.limits, {
      schemas: this.schemas,
      allowForeignTypes: this.options.allowForeignTypes,
    });
    if (prepared.length === 0) return { positions: [], duplicates: 0 };
    const result = await this.lock.run(() => {
      try {
        return this.appendManyTransaction(prepared);
      } catch (error) {
        throw wrapSqliteError(error);
      }
    });
    if (result.duplicates < prepared.length) this.signal.notify();
    return result;
  }

  /**
   * Call `wake` whenever events may have committed to this store's file, from this process or
   * another (the same signal subscriptions use). Returns the function that stops the calls.
   */
  onAppend(wake: () => void): () => void {
    this.assertOpen();
    return this.signal.on(wake);
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<StoredEvent[]> {
    this.assertOpen();
    assertStreamId(streamId);
    const rows = await this.lock.run(() => {
      const last = this.statements.streamVersion.get(streamId) ?? -1;
      const window = readStreamWindow(options, last);
      const statement =
        window.direction === 'forwards' ? this.statements.forwards : this.statements.backwards;
      return statement.all({
        streamId,
        from: window.from,
        to: window.to,
        limit: Math.min(window.limit, Number.MAX_SAFE_INTEGER),
        maxPosition: MAX_POSITION,
      });
    });
    return this.present(rows, options.raw);
  }

  async readAll(options: ReadAllOptions = {}): Promise<StoredEvent[]> {
    this.assertOpen();
    const { after, limit } = resolveReadAll(options);
    const rows = await this.lock.run(() => this.readAllQuery.run(after, limit, options));
    return this.present(rows, options.raw);
  }

  /**
   * `readAll`, and the head it read below: positions are given in commit order, so every
   * event up to the head read first is visible to the page read after it.
   */
  private async readPage(
    options: ReadAllOptions,
  ): Promise<{ events: StoredEvent[]; scannedTo: string }> {
    this.assertOpen();
    const { after, limit } = resolveReadAll(options);
    const { rows, head } = await this.lock.run(() => {
      const head = this.statements.head.get() ?? 0n;
      return { head, rows: this.readAllQuery.run(after, limit, options) };
    });
    return { events: await this.present(rows, options.raw), scannedTo: head.toString() };
  }

  async readByCorrelation(
    correlationId: string,
    options: ReadByCorrelationOptions = {},
  ): Promise<StoredEvent[]> {
    this.assertOpen();
    const { after, limit } = resolveCorrelationRead(correlationId, options);
    const rows = await this.lock.run(() =>
      this.statements.byCorrelation.all(correlationId, after, limit),
    );
    return this.present(rows, options.raw);
  }

  async streamExists(streamId: string): Promise<boolean> {
    return (await this.streamVersion(streamId)) >= 0;
  }

  async streamVersion(streamId: string): Promise<number> {
    this.assertOpen();
    assertStreamId(streamId);
    return (await this.lock.run(() => this.statements.streamVersion.get(streamId))) ?? -1;
  }

  async headPosition(): Promise<string> {
    this.assertOpen();
    return ((await this.lock.run(() => this.statements.head.get())) ?? 0n).toString();
  }

  async aggregateStream<S>(
    streamId: string,
    options: AggregateStreamOptions<S>,
  ): Promise<AggregateStreamResult<S>> {
    this.assertOpen();
    assertStreamId(streamId);
    return aggregateStreamWithSnapshots(
      this.aggregateSource,
      streamId,
      options,
      this.snapshotEvery,
    );
  }

  subscribe(options: SubscribeOptions): Subscription {
    this.assertOpen();
    return this.subscriptions.start(
      {
        readAll: (o) => this.readAll(o),
        readPage: (o) => this.readPage(o),
        onAppend: (wake) => this.signal.on(wake),
      },
      options,
    );
  }

  async loadSchemas(): Promise<StoredSchemaRecord[]> {
    this.assertOpen();
    return this.lock.run(() => this.schemaQueries.all());
  }

  async saveSchema(record: StoredSchemaRecord): Promise<void> {
    this.assertOpen();
    await this.lock.run(() => this.schemaQueries.save(record));
  }

  /**
   * Validate appends and upcast reads with these schemas from now on. A registry usually
   * persists its schemas in this same store, so it can only exist after the store does.
   */
  useSchemas(schemas: EventSchemas | undefined): void {
    this.schemas = schemas;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.subscriptions.stopAll();
    this.signal.close();
    releaseConnection(this.db);
  }

  /** Runs inside `BEGIN IMMEDIATE`: check the version, then insert every row. */
  private write(
    streamId: string,
    prepared: PreparedEvent[],
    expected: NonNullable<AppendOptions['expectedVersion']>,
  ): AppendResult {
    const current = this.statements.streamVersion.get(streamId) ?? -1;
    checkExpectedVersion(streamId, expected, current);
    const category = streamCategory(streamId);
    const recordedAt = Date.now();
    const positions: string[] = [];
    let version = current;
    for (const { event, json } of prepared) {
      version++;
      const info = this.statements.insert.run(
        event.id,
        streamId,
        version,
        event.type,
        category,
        event.correlationid,
        recordedAt,
        json,
      );
      positions.push(info.lastInsertRowid.toString());
    }
    return {
      streamVersion: version,
      position: positions[positions.length - 1]!,
      positions,
      deduplicated: false,
    };
  }

  /**
   * The result of an earlier append of exactly these events to this stream, or undefined
   * when none of the ids is stored. Throws DUPLICATE_EVENT_ID when an id is stored for a
   * different event, or when only part of the batch is stored.
   */
  private findEarlierAppend(streamId: string, prepared: PreparedEvent[]): AppendResult | undefined {
    const stored = prepared.map((p) => {
      const row = this.statements.findById.get(p.event.id);
      return (
        row && {
          streamId: row.stream_id,
          streamVersion: row.stream_version,
          position: row.position,
          body: row.body,
        }
      );
    });
    return resolveEarlierAppend(streamId, prepared, stored);
  }

  private readonly aggregateSource: AggregateSource = {
    readStreamFrom: async (streamId, fromVersion, maxPosition) => {
      const rows = await this.lock.run(() =>
        this.statements.forwards.all({
          streamId,
          from: fromVersion,
          to: Number.MAX_SAFE_INTEGER,
          limit: Number.MAX_SAFE_INTEGER,
          maxPosition: maxPosition ?? MAX_POSITION,
        }),
      );
      return this.present(rows, false);
    },
    loadSnapshot: async (streamId, name, maxPosition) =>
      this.lock.run(() => this.snapshotQueries.get(streamId, name, maxPosition)),
    saveSnapshot: async (snapshot) => this.lock.run(() => this.snapshotQueries.put(snapshot)),
    positionAt: async (time) =>
      (await this.lock.run(() => this.statements.positionAt.get(time.getTime()))) ?? 0n,
  };

  private present(rows: EventRow[], raw: boolean | undefined): StoredEvent[] {
    const schemas = raw ? undefined : this.schemas;
    return rows.map((row) => {
      const event = toStoredEvent(row);
      return schemas ? schemas.upcast(event) : event;
    });
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreClosedError();
  }
}

/** Open (creating when needed) a SQLite event store file and apply migrations. */
export function createSqliteEventStore(options: SqliteEventStoreOptions): SqliteEventStore {
  return new SqliteEventStore(options);
}

function openDatabase(
  file: string,
  settings: { synchronous: 'FULL' | 'NORMAL'; busyTimeoutMs: number },
): Database.Database {
  try {
    if (file !== ':memory:') makeDirectories(dirname(file));
    return acquireConnection(file, settings);
  } catch (error) {
    throw new StoreUnavailableError(
      `cannot open ${file}: ${(error as Error).message}`,
      { path: file },
      {
        cause: error,
      },
    );
  }
}

function positiveInteger(value: unknown, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new InvalidArgumentError(`${name} must be a positive integer`, {
      [name]: value as never,
    });
  }
  return value;
}

function isUniqueEventIdViolation(error: unknown): boolean {
  return (
    error instanceof Database.SqliteError &&
    error.code === 'SQLITE_CONSTRAINT_UNIQUE' &&
    error.message.includes('events.event_id')
  );
}

/** Our own errors pass through; SQLite's (busy, I/O, read-only) become STORE_UNAVAILABLE. */
function wrapSqliteError(error: unknown): unknown {
  if (error instanceof Database.SqliteError) {
    return new StoreUnavailableError(
      `SQLite: ${error.message}`,
      { sqliteCode: error.code },
      { cause: error },
    );
  }
  return error;
}
