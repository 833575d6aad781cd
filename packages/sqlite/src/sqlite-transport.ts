import { EventEmitter } from 'node:events';
import Database from 'better-sqlite3';
import {
  InvalidArgumentError,
  StoreClosedError,
  assertGroupName,
  compileTopics,
  resolveSubscribeLimits,
  type CloudEvent,
  type DeliveryHandler,
  type PublishResult,
  type Transport,
  type TransportSubscribeOptions,
  type TransportSubscription,
} from '@eventfabric/core';
import type { SqliteEventStore } from './sqlite-event-store.js';
import { prepareEnsureConsumerGroup } from './sql/ensure-consumer-group.js';
import { prepareHeadPosition } from './sql/head-position.js';
import { toStoreError, writeWhenFree } from './transport/busy-retry.js';
import { GroupMember } from './transport/group-member.js';
import {
  resolveTransportOptions,
  type ResolvedTransportOptions,
  type SqliteTransportOptions,
} from './transport/transport-options.js';

export type {
  SqliteTransportOptions,
  TransportErrorContext,
} from './transport/transport-options.js';

/** A running member of a consumer group on the SQLite transport. */
export interface SqliteTransportSubscription extends TransportSubscription {
  /** This member's id in the group tables: `<consumerId>/<n>`. */
  readonly memberId: string;
  /** The partitions this member holds right now. */
  partitions(): number[];
}

/**
 * One emitter per database file for the transports of this process, so a member joining or
 * releasing wakes the others at once (other processes notice through the file's wake-up).
 */
const peerSignals = new Map<string, { emitter: EventEmitter; transports: number }>();

/**
 * The embedded, durable {@link Transport}: the store's event log is the queue.
 *
 * - `publish` appends each event to its own stream (its `subject`) in one transaction, and
 *   resolves after the commit (the store's `synchronous` level: FULL by default).
 * - A consumer group splits the log into partitions by a hash of `partitionkey`. Each
 *   partition has a durable checkpoint and a lease; a member holds a fair share of the
 *   partitions and handles each one's events one at a time, in log order, so order per
 *   partition key holds across members, processes and crashes.
 * - A new group starts at the beginning of the log (see `startFrom`).
 * - `deliveryCount` survives crashes: see `docs/architecture.md`, "Embedded transport".
 */
export class SqliteTransport implements Transport {
  private readonly options: ResolvedTransportOptions;
  private readonly store: SqliteEventStore;
  /** The transport's own connection: a handler may hold a transaction open on the store's. */
  private readonly db: Database.Database;
  private readonly ownsDb: boolean;
  private readonly subscriptions = new Set<SqliteTransportSubscription>();
  private readonly memberIds = new Set<string>();
  private readonly ensureGroup;
  private readonly head;
  private readonly peers: EventEmitter;
  private closing: Promise<void> | undefined;

  constructor(options: SqliteTransportOptions) {
    this.options = resolveTransportOptions(options);
    this.store = this.options.store;
    const file = this.store.db.name;
    if (!this.store.db.open) throw new StoreClosedError();
    // An in-memory database exists on one connection only: share it.
    this.ownsDb = file !== ':memory:' && file !== '';
    this.db = this.ownsDb ? openConnection(file, this.store.db) : this.store.db;
    this.ensureGroup = prepareEnsureConsumerGroup(this.db);
    this.head = prepareHeadPosition(this.db);
    let peers = this.ownsDb ? peerSignals.get(file) : undefined;
    if (!peers) {
      peers = { emitter: new EventEmitter().setMaxListeners(0), transports: 0 };
      if (this.ownsDb) peerSignals.set(file, peers);
    }
    peers.transports++;
    this.peers = peers.emitter;
  }

  /**
   * Append the events to the log, each to the stream named by its `subject`, in one
   * transaction: all or nothing. Resolves after the commit with each event's position. An
   * event already stored (a retried publish) keeps its first position.
   * @throws InvalidEventError, ValidationFailedError, … when an event is malformed; nothing is written
   */
  async publish(events: readonly CloudEvent[]): Promise<PublishResult> {
    this.assertOpen();
    if (!Array.isArray(events)) throw new InvalidArgumentError('publish takes an array of events');
    const { positions } = await this.store.appendMany(events);
    return { positions };
  }

  async subscribe(
    group: string,
    handler: DeliveryHandler,
    options: TransportSubscribeOptions,
  ): Promise<SqliteTransportSubscription> {
    this.assertOpen();
    assertGroupName(group);
    if (typeof handler !== 'function') {
      throw new InvalidArgumentError('subscribe needs a handler function');
    }
    if (typeof options !== 'object' || options === null) {
      throw new InvalidArgumentError('subscribe needs options with topics');
    }
    const { prefetch, concurrency } = resolveSubscribeLimits(options);
    const matches = compileTopics(options.topics);
    const o = this.options;
    const partitions = await writeWhenFree(
      this.db,
      () =>
        this.ensureGroup(group, o.partitions, o.startFrom === 'end' ? (this.head.get() ?? 0n) : 0n),
      o.busyTimeoutMs,
    );
    this.assertOpen();
    const { memberId, key } = this.nextMemberId(group);
    const member = new GroupMember({
      db: this.db,
      group,
      memberId,
      partitions,
      matches,
      handler,
      prefetch,
      concurrency,
      leaseMs: o.leaseMs,
      checkpointEvery: o.checkpointEvery,
      checkpointDelayMs: o.checkpointDelayMs,
      drainTimeoutMs: o.drainTimeoutMs,
      busyTimeoutMs: o.busyTimeoutMs,
      onAppend: (wake) => this.store.onAppend(wake),
      peers: this.peers,
      report: (error, operation) => o.onError(error, { group, member: memberId, operation }),
    });
    let closed: Promise<void> | undefined;
    const subscription: SqliteTransportSubscription = {
      group,
      memberId,
      partitions: () => member.partitions(),
      close: () =>
        (closed ??= member.close().finally(() => {
          this.subscriptions.delete(subscription);
          this.memberIds.delete(key);
        })),
    };
    this.subscriptions.add(subscription);
    try {
      await member.start();
    } catch (error) {
      await subscription.close();
      throw toStoreError(error);
    }
    return subscription;
  }

  /** Close every subscription (draining handlers in flight), then the transport's connection. Idempotent; the store stays open. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.all([...this.subscriptions].map((s) => s.close()));
      if (this.ownsDb) {
        const peers = peerSignals.get(this.db.name)!;
        if (--peers.transports === 0) peerSignals.delete(this.db.name);
        this.db.close();
      }
    })();
    return this.closing;
  }

  private assertOpen(): void {
    if (this.closing) throw new StoreClosedError();
  }

  /** `<consumerId>/<n>` with the smallest n this transport does not use. */
  private nextMemberId(group: string): { memberId: string; key: string } {
    for (let n = 0; ; n++) {
      const memberId = `${this.options.consumerId}/${n}`;
      const key = `${group}\n${memberId}`;
      if (!this.memberIds.has(key)) {
        this.memberIds.add(key);
        return { memberId, key };
      }
    }
  }
}

/** Open a durable transport over a SQLite event store's log. */
export function createSqliteTransport(options: SqliteTransportOptions): SqliteTransport {
  return new SqliteTransport(options);
}

function openConnection(file: string, storeDb: Database.Database): Database.Database {
  const db = new Database(file, { fileMustExist: true });
  try {
    // Waits for the write lock happen asynchronously in writeWhenFree, never in SQLite.
    db.pragma('busy_timeout = 0');
    db.pragma(`synchronous = ${storeDb.pragma('synchronous', { simple: true }) as number}`);
  } catch (error) {
    db.close();
    throw toStoreError(error);
  }
  return db;
}
