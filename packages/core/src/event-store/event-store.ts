import type { CloudEvent, StoredEvent } from '../envelope/index.js';

/**
 * What the caller expects of the stream before an append:
 * - `'any'`: no check;
 * - `'no_stream'`: the stream must not exist yet;
 * - `'stream_exists'`: the stream must hold at least one event;
 * - a number: the version of the stream's last event (versions start at 0); -1 means the
 *   stream does not exist, so `await store.streamVersion(id)` can be passed as is.
 */
export type ExpectedVersion = 'any' | 'no_stream' | 'stream_exists' | number;

/** Options for {@link EventStore.appendToStream}. */
export interface AppendOptions {
  /** @defaultValue `'any'` */
  expectedVersion?: ExpectedVersion;
}

/** What an append wrote, or, for an idempotent retry, what the original append wrote. */
export interface AppendResult {
  /** The stream's version after the append: the version of its last event. */
  streamVersion: number;
  /** The global position of the last appended event. */
  position: string;
  /** The global position of each appended event, in order. */
  positions: string[];
  /** True when every event was already stored by an earlier append, and nothing was written. */
  deduplicated: boolean;
}

/** Options for {@link EventStore.readStream}. */
export interface ReadStreamOptions {
  /** @defaultValue `'forwards'` */
  direction?: 'forwards' | 'backwards';
  /**
   * First version to return (inclusive). Forwards it defaults to 0; backwards to the
   * last version.
   */
  fromVersion?: number;
  /** Last version to return (inclusive), in the direction of reading. */
  toVersion?: number;
  /** @defaultValue no limit */
  limit?: number;
  /** Return events as stored, skipping upcasters. @defaultValue false */
  raw?: boolean;
}

/** A filter on `$all`. Prefix and category lists are OR-ed; the two kinds are AND-ed. */
export interface AllFilter {
  /** Type prefixes, e.g. `treasury.` or `treasury.contribution.approved.v1`. */
  typePrefixes?: string[];
  /** Stream categories: the part of the stream id before its first `-`. */
  categories?: string[];
}

/** Options for {@link EventStore.readAll}. */
export interface ReadAllOptions extends AllFilter {
  /** Return events after this position (exclusive). @defaultValue the start of the log */
  after?: string;
  /** @defaultValue 1000 */
  limit?: number;
  /** @defaultValue false */
  raw?: boolean;
}

/** Options for {@link EventStore.readByCorrelation}. */
export interface ReadByCorrelationOptions {
  after?: string;
  /** @defaultValue 1000 */
  limit?: number;
  /** @defaultValue false */
  raw?: boolean;
}

/** A point in the past for temporal reads: a global position, or a recording time. */
export type AsOf = { position: string } | { time: Date | string };

/** Options for {@link EventStore.aggregateStream}. */
export interface AggregateStreamOptions<S> {
  initial: () => S;
  evolve: (state: S, event: StoredEvent) => S;
  /**
   * The state as of a global position or a recording time (the time the store committed the
   * event, not the event's own `time`). @defaultValue now
   */
  asOf?: AsOf;
  /**
   * Snapshot the state under this name. The name must change when `evolve` or the state's
   * shape changes (e.g. `contribution@2`), or an old snapshot would be reused.
   * @defaultValue no snapshots
   */
  snapshot?: string;
}

/** The result of {@link EventStore.aggregateStream}. */
export interface AggregateStreamResult<S> {
  state: S;
  /** Version of the last event folded in; -1 when the stream has none (as of `asOf`). */
  streamVersion: number;
  /** True when the fold started from a snapshot. */
  fromSnapshot: boolean;
}

/** A stored snapshot of a stream's folded state. */
export interface Snapshot {
  streamId: string;
  name: string;
  streamVersion: number;
  position: string;
  state: unknown;
}

/** Options for {@link EventStore.subscribe}. */
export interface SubscribeOptions extends AllFilter {
  /** Deliver events after this position (a checkpoint). @defaultValue the start of the log */
  after?: string;
  /**
   * Called once per event, in position order. The next event waits until the returned
   * promise settles. A rejection stops the subscription: `done` rejects with a
   * `SubscriptionFailedError` whose `cause` is the handler's error.
   */
  handler: (event: StoredEvent) => Promise<void> | void;
  /** Events fetched per catch-up query. @defaultValue 500 */
  batchSize?: number;
  /** @defaultValue false */
  raw?: boolean;
}

/** A running catch-up-then-live subscription to `$all`. */
export interface Subscription {
  /** Position of the last event the handler finished: the `after` checkpoint before the first; `undefined` when neither. */
  readonly position: string | undefined;
  /** True once the subscription has caught up with the log at least once. */
  readonly live: boolean;
  /** Settles when the subscription ends: resolves after `stop()`, rejects on failure. */
  readonly done: Promise<void>;
  /** Stop after the event in hand, if any. Idempotent. */
  stop(): Promise<void>;
}

/**
 * An append-only log of events, grouped in streams and globally ordered in `$all`.
 *
 * Implementations must guarantee:
 * - **Atomic, durable appends.** All of a call's events are stored, or none; once the
 *   returned promise resolves they survive a process crash.
 * - **Optimistic concurrency.** The expected-version check and the write are one atomic
 *   step, even with several processes writing one store.
 * - **Contiguous versions.** A stream's versions run 0, 1, 2, … with no gap.
 * - **Ordered `$all`.** Positions strictly increase in commit order; a reader of `$all`
 *   never skips a committed event and never sees an event twice.
 * - **Idempotent writes.** Re-appending events whose ids are stored, in the same stream with
 *   the same type and data, writes nothing and returns the original positions. Reusing an
 *   id for a different event fails with `DUPLICATE_EVENT_ID`.
 * - **Bad input changes nothing.** Every rejected append leaves the store as it was.
 */
export interface EventStore {
  /**
   * Append events to a stream atomically.
   * @throws WrongExpectedVersionError, InvalidEventError, ValidationFailedError,
   *   DuplicateEventIdError, EventTooLargeError, BatchTooLargeError, InvalidArgumentError
   */
  appendToStream(
    streamId: string,
    events: readonly unknown[],
    options?: AppendOptions,
  ): Promise<AppendResult>;

  /** Read a stream's events. A missing stream reads as empty. */
  readStream(streamId: string, options?: ReadStreamOptions): Promise<StoredEvent[]>;

  /** Read `$all` in position order, after a position, filtered by type prefix or category. */
  readAll(options?: ReadAllOptions): Promise<StoredEvent[]>;

  /** Every event of one flow, in position order: for audit. */
  readByCorrelation(
    correlationId: string,
    options?: ReadByCorrelationOptions,
  ): Promise<StoredEvent[]>;

  /** True when the stream holds at least one event. */
  streamExists(streamId: string): Promise<boolean>;

  /** The version of the stream's last event, or -1 when the stream does not exist. */
  streamVersion(streamId: string): Promise<number>;

  /** The position of the last event in `$all`, or `'0'` when the store is empty. */
  headPosition(): Promise<string>;

  /**
   * Fold a stream into a state, starting from the newest usable snapshot. Snapshots are
   * written every `snapshotEvery` events (a store option) when `snapshot` names one.
   */
  aggregateStream<S>(
    streamId: string,
    options: AggregateStreamOptions<S>,
  ): Promise<AggregateStreamResult<S>>;

  /**
   * Deliver every event after `after`, then keep delivering new ones as they commit. The
   * wake-up comes from the store (an in-process signal, a file or database notification),
   * not from a polling sleep alone.
   */
  subscribe(options: SubscribeOptions): Subscription;

  /** Release connections and stop subscriptions. Idempotent. */
  close(): Promise<void>;
}

/** Where a schema registry keeps its schemas: every store provides one. */
export interface SchemaStorage {
  /** Every stored schema record, in registration order. */
  loadSchemas(): Promise<StoredSchemaRecord[]>;
  /** Store one record. Storing the same (type, version) again with the same schema is a no-op. */
  saveSchema(record: StoredSchemaRecord): Promise<void>;
}

/** A schema version as persisted by a {@link SchemaStorage}. */
export interface StoredSchemaRecord {
  /** Base type, e.g. `treasury.contribution.approved`. */
  base: string;
  version: number;
  schema: Record<string, unknown>;
  /** The compatibility mode of the subject when the version was registered. */
  compatibility: string;
  registeredAt: string;
}

/** Re-exported for implementers: the stored and wire shapes. */
export type { CloudEvent, StoredEvent };
