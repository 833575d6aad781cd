import {
  DatabaseError,
  createPool,
  isConnectionError,
  type ClientConfig,
  type Pool,
} from './driver.js';
import {
  SubscriptionSet,
  DuplicateEventIdError,
  EventFabricError,
  StoreClosedError,
  StoreUnavailableError,
  WrongExpectedVersionError,
  aggregateStreamWithSnapshots,
  assertExpectedVersion,
  assertStreamId,
  isSameEvent,
  prepareAppend,
  prepareAppendMany,
  readStreamWindow,
  resolveCorrelationRead,
  resolveEarlierAppend,
  resolveReadAll,
  streamCategory,
  type AggregateSource,
  type AggregateStreamOptions,
  type AggregateStreamResult,
  type AppendManyResult,
  type AppendOptions,
  type AppendResult,
  type EventSchemas,
  type EventStore,
  type ExpectedVersion,
  type PreparedEvent,
  type PreparedStreamEvent,
  type ReadAllOptions,
  type ReadByCorrelationOptions,
  type ReadStreamOptions,
  type SchemaStorage,
  type StoredEvent,
  type StoredSchemaRecord,
  type SubscribeOptions,
  type Subscription,
} from '@eventfabric/core';
import { AppendNotifier } from './append-notifier.js';
import { AppendQueue, type AppendOutcome } from './append-queue.js';
import { migrate } from './migrations/index.js';
import { PostgresNotifier } from './notifier.js';
import {
  redact,
  resolvePostgresOptions,
  type PostgresEventStoreOptions,
  type ResolvedPostgresOptions,
} from './postgres-options.js';
import { quoteIdentifier } from './schema-name.js';
import { appendEvents, type AppendRow } from './sql/append-events.js';
import {
  appendStreams,
  type StreamAppend,
  type StreamAppendEvent,
  type StreamAppendRow,
} from './sql/append-streams.js';
import { findEventsById } from './sql/find-events-by-id.js';
import { headPosition, positionAt } from './sql/head-position.js';
import { horizon, type HorizonResult } from './sql/horizon.js';
import { readAll } from './sql/read-all.js';
import { readByCorrelation } from './sql/read-by-correlation.js';
import { readStream } from './sql/read-stream.js';
import { toStoredEvent, type EventRow } from './sql/row.js';
import { safePosition } from './sql/safe-position.js';
import { loadSchemas, saveSchema } from './sql/schemas.js';
import { loadSnapshot, saveSnapshot } from './sql/snapshots.js';
import { streamVersion } from './sql/stream-version.js';

/** Racing appends on one stream retry this often before giving up. */
const MAX_APPEND_ATTEMPTS = 50;

/** A combined append statement (group commit) takes appends up to this many events. */
const MAX_COMBINED_EVENTS = 1000;

/**
 * How many append statements may run at once; appends beyond wait and share the next
 * statement. A quarter of the pool (at least one) leaves the rest to reads and subscribers.
 */
function appendSlots(pool: Pool): number {
  const max = (pool.options as { max?: number }).max ?? 10;
  return Math.max(1, Math.floor(max / 4));
}

/** The events' streams, in order of first appearance, and each event's place in its stream. */
function groupByStream(prepared: readonly PreparedStreamEvent[]): {
  appends: StreamAppend[];
  events: StreamAppendEvent[];
} {
  const appends: StreamAppend[] = [];
  const counts: number[] = [];
  const index = new Map<string, number>();
  const events = prepared.map((p) => {
    let append = index.get(p.streamId);
    if (append === undefined) {
      append = appends.length;
      index.set(p.streamId, append);
      appends.push({
        streamId: p.streamId,
        category: streamCategory(p.streamId),
        prepared: [],
        expected: 'any',
      });
      counts.push(0);
    }
    const ord = ++counts[append]!;
    return { append, ord, prepared: p };
  });
  return { appends, events };
}

async function settle(work: Promise<AppendResult>): Promise<AppendOutcome> {
  try {
    return { ok: true, result: await work };
  } catch (error) {
    return { ok: false, error };
  }
}

/**
 * The PostgreSQL {@link EventStore}. Positions come from a sequence, so concurrent
 * transactions commit them out of order; `$all` reads stop below the lowest position a
 * still-running inserting transaction may commit (see docs/architecture.md, "PostgreSQL
 * store: gap safety"), so a reader never skips a committed event nor sees one twice.
 */
export class PostgresEventStore implements EventStore, SchemaStorage {
  /** The pool queries run on: the caller's, or the store's own. */
  readonly pool: Pool;
  /** The PostgreSQL schema holding the tables. */
  readonly schema: string;
  private readonly s: string;
  private readonly notifier: PostgresNotifier;
  /** NOTIFY `<schema>_events` after appends commit, coalesced (not from the trigger). */
  private readonly appended: AppendNotifier;
  private readonly subscriptions = new SubscriptionSet();
  /** Appends from the pool; concurrent ones share statements and commits. */
  private readonly appends: AppendQueue;
  private schemas: EventSchemas | undefined;
  private closed = false;
  /** The highest safe position computed (see `readAll`). */
  private safeSeen = 0n;
  /** A safe-position query about to be sent, which callers until then share. */
  private safeRefresh: Promise<bigint> | undefined;

  /** Use {@link createPostgresEventStore}: it validates options and applies migrations. */
  constructor(
    pool: Pool,
    private readonly ownsPool: boolean,
    private readonly options: ResolvedPostgresOptions,
  ) {
    this.pool = pool;
    this.schema = options.schema;
    this.s = quoteIdentifier(options.schema);
    this.schemas = options.common.schemas;
    this.notifier = new PostgresNotifier(
      pool.options as ClientConfig,
      `${options.schema}_events`,
      options.safetyTickMs,
    );
    this.appended = new AppendNotifier(pool, `${options.schema}_events`);
    this.appends = new AppendQueue(
      {
        one: (a) => this.run(() => this.write(a.streamId, a.prepared, a.expected)),
        many: (batch) => this.run(() => this.writeMany(batch)),
      },
      appendSlots(pool),
      Math.max(options.limits.maxBatchSize, MAX_COMBINED_EVENTS),
    );
  }

  async appendToStream(
    streamId: string,
    events: readonly unknown[],
    options: AppendOptions = {},
  ): Promise<AppendResult> {
    const { expected, prepared } = this.prepare(streamId, events, options);
    const result = await this.appends.append({
      streamId,
      category: streamCategory(streamId),
      prepared,
      expected,
    });
    // The statement committed (autocommit): wake subscribers here and in other processes.
    if (!result.deduplicated) this.notifyAppended();
    return result;
  }

  /**
   * Append events each to its own stream (its `subject`), all or nothing, in one statement:
   * positions follow the order given. Events whose ids are already stored with the same
   * stream, type and data (a retried publish) keep their first position and count as
   * duplicates; an id stored for a different event fails with DUPLICATE_EVENT_ID and writes
   * nothing. What a transport on the log publishes with.
   */
  async appendMany(events: readonly unknown[]): Promise<AppendManyResult> {
    this.assertOpen();
    const prepared = prepareAppendMany(events, this.options.limits, {
      schemas: this.schemas,
      allowForeignTypes: this.options.common.allowForeignTypes,
    });
    if (prepared.length === 0) return { positions: [], duplicates: 0 };
    const result = await this.run(() => this.writeEvents(prepared));
    if (result.duplicates < prepared.length) this.notifyAppended();
    return result;
  }

  /**
   * `appendToStream` on `db` instead of the pool: what `withTransaction` runs on its client.
   * `db` must survive a failed statement (a savepoint around each), since a lost version
   * race retries on it. Sends no NOTIFY: the caller calls {@link notifyAppended} after
   * its COMMIT. @internal
   */
  async appendWith(
    db: Pick<Pool, 'query'>,
    streamId: string,
    events: readonly unknown[],
    options: AppendOptions = {},
  ): Promise<AppendResult> {
    const { expected, prepared } = this.prepare(streamId, events, options);
    // The SQL helpers call nothing but query().
    return this.run(() => this.write(streamId, prepared, expected, db as Pool));
  }

  /**
   * Tell subscribers that events committed: this process's at once, other processes' by a
   * throttled, fire-and-forget NOTIFY from the pool. `withTransaction` calls it after a COMMIT that appended. @internal
   */
  notifyAppended(): void {
    if (this.closed) return;
    this.notifier.wakeLocal();
    this.appended.notify();
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<StoredEvent[]> {
    this.assertOpen();
    assertStreamId(streamId);
    readStreamWindow(options, -1); // validate before any I/O
    const rows = await this.run(async () => {
      const last = await streamVersion(this.pool, this.s, streamId);
      const window = readStreamWindow(options, last);
      const forwards = window.direction === 'forwards';
      const low = forwards ? window.from : window.to;
      const high = forwards ? window.to : window.from;
      if (low > high) return [];
      return readStream(this.pool, this.s, {
        streamId,
        low,
        high,
        direction: window.direction,
        limit: Math.min(window.limit, Number.MAX_SAFE_INTEGER),
      });
    });
    return this.present(rows, options.raw);
  }

  async readAll(options: ReadAllOptions = {}): Promise<StoredEvent[]> {
    return (await this.readPage(options)).events;
  }

  /**
   * `readAll`, and the safe position it read up to: a short page holds every matching
   * event up to `scannedTo` (what a filtered subscription moves its cursor to).
   */
  private async readPage(
    options: ReadAllOptions,
  ): Promise<{ events: StoredEvent[]; scannedTo: string }> {
    this.assertOpen();
    const { after, limit } = resolveReadAll(options);
    const { rows, upTo } = await this.run(async () => {
      // Below a safe position once computed, every transaction has ended for good: a reader
      // behind it (catching up) needs no new one until it gets there.
      const cached = this.safeSeen > after;
      const upTo = cached ? this.safeSeen : await this.refreshSafePosition();
      if (upTo <= after) return { rows: [], upTo };
      const page = await readAll(this.pool, this.s, after, upTo, limit, options);
      if (!cached || page.length >= limit) return { rows: page, upTo };
      // A short page under a remembered bound is not the end of the log: look again, so a
      // short page still means "caught up" to subscriptions.
      const fresh = await this.refreshSafePosition();
      if (fresh <= upTo) return { rows: page, upTo };
      const rest = await readAll(this.pool, this.s, upTo, fresh, limit - page.length, options);
      return { rows: page.concat(rest), upTo: fresh };
    });
    return {
      events: await this.present(rows, options.raw),
      scannedTo: (upTo > after ? upTo : after).toString(),
    };
  }

  /**
   * The safe position now; remembered as the highest seen. Callers that ask before the query
   * is sent share it: one append's NOTIFY wakes every subscription of the store at once, and
   * one query, sent after all of them asked, answers each as well as its own would.
   */
  private refreshSafePosition(): Promise<bigint> {
    this.safeRefresh ??= new Promise<void>((resolve) => setImmediate(resolve)).then(async () => {
      this.safeRefresh = undefined; // later callers need a query sent after they asked
      const safe = await safePosition(this.pool, this.s);
      if (safe > this.safeSeen) this.safeSeen = safe;
      return safe;
    });
    return this.safeRefresh;
  }

  async readByCorrelation(
    correlationId: string,
    options: ReadByCorrelationOptions = {},
  ): Promise<StoredEvent[]> {
    this.assertOpen();
    const { after, limit } = resolveCorrelationRead(correlationId, options);
    const rows = await this.run(async () => {
      const upTo = await safePosition(this.pool, this.s);
      return readByCorrelation(this.pool, this.s, correlationId, after, upTo, limit);
    });
    return this.present(rows, options.raw);
  }

  async streamExists(streamId: string): Promise<boolean> {
    return (await this.streamVersion(streamId)) >= 0;
  }

  async streamVersion(streamId: string): Promise<number> {
    this.assertOpen();
    assertStreamId(streamId);
    return this.run(() => streamVersion(this.pool, this.s, streamId));
  }

  /** The last position a `$all` reader can see now: never past a running writer's. */
  async headPosition(): Promise<string> {
    this.assertOpen();
    return this.run(async () => {
      const upTo = await safePosition(this.pool, this.s);
      return (await headPosition(this.pool, this.s, upTo)).toString();
    });
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
      this.options.snapshotEvery,
    );
  }

  subscribe(options: SubscribeOptions): Subscription {
    this.assertOpen();
    return this.subscriptions.start(
      {
        readAll: (o) => this.readAll(o),
        readPage: (o) => this.readPage(o),
        onAppend: (wake) => this.notifier.on(wake),
        // A lost connection is waited out: the subscription retries from its checkpoint.
        retryDelayMs: (error, attempt) =>
          isRetryable(error) && !this.closed ? Math.min(2000, 50 * 2 ** attempt) : undefined,
      },
      options,
    );
  }

  /**
   * The sessions whose open transactions hold `$all` readers back, oldest hold first: what
   * `eventfabric doctor` reports. Empty when readers see every committed event.
   */
  async horizon(): Promise<HorizonResult> {
    this.assertOpen();
    return this.run(() => horizon(this.pool, this.schema));
  }

  async loadSchemas(): Promise<StoredSchemaRecord[]> {
    this.assertOpen();
    return this.run(() => loadSchemas(this.pool, this.s));
  }

  async saveSchema(record: StoredSchemaRecord): Promise<void> {
    this.assertOpen();
    await this.run(() => saveSchema(this.pool, this.s, record));
  }

  /** Validate appends and upcast reads with these schemas from now on. */
  useSchemas(schemas: EventSchemas | undefined): void {
    this.schemas = schemas;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Subscriptions stop first (reads would now fail), then appends already accepted finish.
    const stopping = this.subscriptions.stopAll();
    await this.appends.drain();
    await stopping;
    this.notifier.close();
    await this.appended.close();
    if (this.ownsPool) await this.pool.end();
  }

  /** Every check an append makes before any I/O: open, expected version, each event. */
  private prepare(
    streamId: string,
    events: readonly unknown[],
    options: AppendOptions,
  ): { expected: ExpectedVersion; prepared: PreparedEvent[] } {
    this.assertOpen();
    // `null` is not a form of 'any': only an omitted option defaults.
    const expected = options.expectedVersion === undefined ? 'any' : options.expectedVersion;
    assertExpectedVersion(expected);
    const prepared = prepareAppend(streamId, events, this.options.limits, {
      schemas: this.schemas,
      allowForeignTypes: this.options.common.allowForeignTypes,
    });
    return { expected, prepared };
  }

  /** One statement per attempt; a lost race on a stream version retries. */
  private async write(
    streamId: string,
    prepared: readonly PreparedEvent[],
    expected: ExpectedVersion,
    db: Pool = this.pool,
  ): Promise<AppendResult> {
    const category = streamCategory(streamId);
    for (let attempt = 1; ; attempt++) {
      let rows;
      try {
        rows = await appendEvents(db, this.s, streamId, category, prepared, expected);
      } catch (error) {
        const constraint = uniqueViolation(error);
        if (constraint === 'events_event_id_key') {
          // A client retrying after a timeout resends stored ids: answer with the original.
          const earlier = await this.findEarlierAppend(streamId, prepared, db);
          if (earlier) return earlier;
          throw new DuplicateEventIdError(prepared[0]!.event.id, {
            reason: 'stored by another append',
          });
        }
        if (constraint === 'events_stream_id_stream_version_key' && attempt < MAX_APPEND_ATTEMPTS)
          continue;
        throw error;
      }
      return this.conclude(streamId, prepared, expected, rows, db);
    }
  }

  /**
   * Several appends to distinct streams in one statement (the append queue's group
   * commit). A unique violation aborts the statement: then each append runs on its own, in
   * call order, with the single append's retry and idempotency handling.
   */
  private async writeMany(appends: readonly StreamAppend[]): Promise<AppendOutcome[]> {
    let rows: StreamAppendRow[];
    try {
      rows = await appendStreams(this.pool, this.s, appends);
    } catch (error) {
      if (uniqueViolation(error) === undefined) throw error;
      // One by one, in call order, so positions still follow it.
      const outcomes: AppendOutcome[] = [];
      for (const a of appends) {
        outcomes.push(await settle(this.run(() => this.write(a.streamId, a.prepared, a.expected))));
      }
      return outcomes;
    }
    const byStream = new Map<string, AppendRow[]>();
    for (const row of rows) {
      const list = byStream.get(row.stream_id) ?? [];
      list.push(
        row.position === null
          ? { position: null, stream_version: null, current_version: row.current_version! }
          : { position: row.position, stream_version: row.stream_version },
      );
      byStream.set(row.stream_id, list);
    }
    return Promise.all(
      appends.map((a) => {
        const own = byStream.get(a.streamId) ?? [];
        own.sort((x, y) => Number(x.stream_version) - Number(y.stream_version));
        return settle(this.run(() => this.conclude(a.streamId, a.prepared, a.expected, own)));
      }),
    );
  }

  /** appendMany's statement, retried around stored ids and version races. */
  private async writeEvents(prepared: readonly PreparedStreamEvent[]): Promise<AppendManyResult> {
    /** Positions of events stored before this call, by id. */
    const stored = new Map<string, string>();
    for (let attempt = 1; ; attempt++) {
      const fresh = prepared.filter((p) => !stored.has(p.event.id));
      const positions = new Map(stored);
      if (fresh.length > 0) {
        const { appends, events } = groupByStream(fresh);
        try {
          for (const row of await appendStreams(this.pool, this.s, appends, events)) {
            positions.set(row.event_id!, row.position!);
          }
        } catch (error) {
          const constraint = uniqueViolation(error);
          if (constraint === 'events_event_id_key') {
            await this.collectStored(fresh, stored);
            continue;
          }
          if (constraint === 'events_stream_id_stream_version_key' && attempt < MAX_APPEND_ATTEMPTS)
            continue;
          throw error;
        }
      }
      return {
        positions: prepared.map((p) => positions.get(p.event.id)!),
        duplicates: stored.size,
      };
    }
  }

  /**
   * Add the events of `fresh` already stored to `stored`, by id.
   * @throws DuplicateEventIdError when an id holds a different event
   */
  private async collectStored(
    fresh: readonly PreparedStreamEvent[],
    stored: Map<string, string>,
  ): Promise<void> {
    const found = await findEventsById(
      this.pool,
      this.s,
      fresh.map((p) => p.event.id),
    );
    for (const { streamId, event } of fresh) {
      const row = found.get(event.id);
      if (!row) continue;
      const { type, data } = JSON.parse(row.body) as { type: string; data: unknown };
      if (!isSameEvent({ streamId: row.stream_id, type, data }, { streamId, event })) {
        throw new DuplicateEventIdError(event.id, { storedIn: row.stream_id });
      }
      stored.set(event.id, row.position);
    }
  }

  /**
   * An append's result from its statement's rows: the inserted events, or none (or one row
   * with a null position and the stream's version) when the expectation did not hold, which
   * is a wrong expected version unless the events were stored by an earlier try.
   */
  private async conclude(
    streamId: string,
    prepared: readonly PreparedEvent[],
    expected: ExpectedVersion,
    rows: readonly AppendRow[],
    db: Pool = this.pool,
  ): Promise<AppendResult> {
    const first = rows[0];
    if (first === undefined || first.position === null) {
      const earlier = await this.findEarlierAppend(streamId, prepared, db);
      if (earlier) return earlier;
      const actual =
        first?.current_version !== undefined
          ? Number(first.current_version)
          : await streamVersion(db, this.s, streamId);
      throw new WrongExpectedVersionError(streamId, expected, actual === -1 ? 'no_stream' : actual);
    }
    const positions = rows.map((r) => r.position!);
    return {
      streamVersion: Number(rows[rows.length - 1]!.stream_version),
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
  private async findEarlierAppend(
    streamId: string,
    prepared: readonly PreparedEvent[],
    db: Pool = this.pool,
  ): Promise<AppendResult | undefined> {
    const found = await findEventsById(
      db,
      this.s,
      prepared.map((p) => p.event.id),
    );
    const stored = prepared.map((p) => {
      const row = found.get(p.event.id);
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
      const rows = await this.run(() =>
        readStream(this.pool, this.s, {
          streamId,
          low: fromVersion,
          high: Number.MAX_SAFE_INTEGER,
          direction: 'forwards',
          limit: Number.MAX_SAFE_INTEGER,
          maxPosition,
        }),
      );
      return this.present(rows, false);
    },
    loadSnapshot: (streamId, name, maxPosition) =>
      this.run(() => loadSnapshot(this.pool, this.s, streamId, name, maxPosition)),
    saveSnapshot: (snapshot) => this.run(() => saveSnapshot(this.pool, this.s, snapshot)),
    positionAt: (time) => this.run(() => positionAt(this.pool, this.s, time)),
  };

  /** Our own errors pass through; the driver's (connection, server) become STORE_UNAVAILABLE. */
  private async run<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw wrapPgError(error, this.schema);
    }
  }

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

/**
 * Connect, apply migrations (unless `migrate: false`) and return the store.
 * @throws InvalidConfigError, InvalidArgumentError for bad options, before any I/O
 * @throws StoreUnavailableError when the server cannot be reached or migrated
 */
export async function createPostgresEventStore(
  options: PostgresEventStoreOptions,
): Promise<PostgresEventStore> {
  const resolved = resolvePostgresOptions(options);
  const ownsPool = resolved.pool === undefined;
  const pool =
    resolved.pool ??
    createPool({
      connectionString: resolved.connectionString,
      max: resolved.poolSize,
      connectionTimeoutMillis: resolved.connectTimeoutMs,
    });
  try {
    if (resolved.migrate) await migrate(pool, resolved.schema);
    else await pool.query('SELECT 1');
  } catch (error) {
    if (ownsPool) await pool.end().catch(() => undefined);
    const where = resolved.connectionString ? redact(resolved.connectionString) : 'the pool';
    throw new StoreUnavailableError(
      `cannot open the PostgreSQL event store at ${where}: ${(error as Error).message}`,
      { schema: resolved.schema },
      { cause: error },
    );
  }
  return new PostgresEventStore(pool, ownsPool, resolved);
}

function isRetryable(error: unknown): boolean {
  return error instanceof StoreUnavailableError && error.details.retryable === true;
}

function uniqueViolation(error: unknown): string | undefined {
  if (error instanceof DatabaseError && error.code === '23505') return error.constraint;
  return undefined;
}

function wrapPgError(error: unknown, schema: string): unknown {
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
