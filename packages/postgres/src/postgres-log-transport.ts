import {
  createRelay,
  InvalidArgumentError,
  StoreClosedError,
  type CloudEvent,
  type DeliveryHandler,
  type Logger,
  type PublishResult,
  type Relay,
  type Transport,
  type TransportSubscribeOptions,
  type TransportSubscription,
} from '@eventfabric/core';
import { PostgresEventStore } from './postgres-event-store.js';
import {
  createPostgresQueueTransport,
  type PostgresQueueTransport,
} from './postgres-queue-transport.js';
import { PostgresRelayCheckpoints } from './postgres-relay-checkpoints.js';

/** Options for {@link createPostgresLogTransport}. */
export interface PostgresLogTransportOptions {
  /** The store whose log is the source of every group; its pool and schema are used. */
  store: PostgresEventStore;
  /**
   * How long a group's relay lease lasts without renewal: how soon another process takes
   * over feeding the group when the one feeding it dies. @defaultValue 5000
   */
  relayLeaseMs?: number;
  /** Delivery lease of the group queues (see the queue transport). @defaultValue 30 000 */
  leaseMs?: number;
  /** How long closing a subscription waits for handlers in flight. @defaultValue 30 000 */
  drainTimeoutMs?: number;
  /** @defaultValue a silent logger */
  logger?: Logger;
}

/**
 * The event log as a transport, on PostgreSQL: what the embedded transport is on SQLite.
 * `publish` appends each event to its stream (its `subject`), all or nothing, in one
 * statement. Each consumer group has a queue (the queue transport's, `FOR UPDATE SKIP
 * LOCKED`) fed from the log by a relay with a leased checkpoint: one process at a time
 * feeds a group, from the start of the log on the group's first subscription, and its
 * members, in any process, compete for the queue. A group declared late still receives
 * every earlier event.
 *
 * Around a relay failover a group can receive an event twice (the relay re-sends what it had
 * not checkpointed); the consumer framework's processed-event record absorbs it.
 */
export class PostgresLogTransport implements Transport {
  private readonly checkpoints: PostgresRelayCheckpoints;
  private readonly relays = new Set<Relay>();
  private readonly subscriptions = new Set<TransportSubscription>();
  private closing: Promise<void> | undefined;

  constructor(
    readonly store: PostgresEventStore,
    readonly queue: PostgresQueueTransport,
    private readonly options: { relayLeaseMs: number; logger: Logger | undefined },
  ) {
    this.checkpoints = new PostgresRelayCheckpoints(store);
  }

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
  ): Promise<TransportSubscription> {
    this.assertOpen();
    // The queue validates the group, handler and options before anything is created.
    const member = await this.queue.subscribe(group, handler, options);
    let relay: Relay;
    try {
      relay = await createRelay({
        name: `group:${group}`,
        store: this.store,
        checkpoints: this.checkpoints,
        topics: options.topics,
        leaseMs: this.options.relayLeaseMs,
        logger: this.options.logger,
        forward: (events) => this.queue.enqueueTo(group, events),
      });
    } catch (error) {
      await member.close();
      throw error;
    }
    this.relays.add(relay);
    let closed: Promise<void> | undefined;
    const subscription: TransportSubscription = {
      group,
      close: () => {
        closed ??= (async () => {
          await relay.stop();
          this.relays.delete(relay);
          await member.close();
          this.subscriptions.delete(subscription);
        })();
        return closed;
      },
    };
    this.subscriptions.add(subscription);
    return subscription;
  }

  /** Stop the relays, close every subscription (draining handlers), then the queue. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.all([...this.relays].map((r) => r.stop()));
      await Promise.all([...this.subscriptions].map((s) => s.close()));
      await this.queue.close();
    })();
    return this.closing;
  }

  private assertOpen(): void {
    if (this.closing) throw new StoreClosedError();
  }
}

/**
 * Open the log transport on a PostgreSQL store (already migrated: it shares the store's
 * pool and schema).
 * @throws InvalidArgumentError for malformed options, before anything is created
 */
export async function createPostgresLogTransport(
  options: PostgresLogTransportOptions,
): Promise<PostgresLogTransport> {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidArgumentError('createPostgresLogTransport needs an options object');
  }
  if (!(options.store instanceof PostgresEventStore)) {
    throw new InvalidArgumentError('createPostgresLogTransport needs a PostgresEventStore');
  }
  const relayLeaseMs = options.relayLeaseMs ?? 5000;
  if (!Number.isSafeInteger(relayLeaseMs) || relayLeaseMs <= 0) {
    throw new InvalidArgumentError('relayLeaseMs must be a positive integer', {
      relayLeaseMs: relayLeaseMs as never,
    });
  }
  const queue = await createPostgresQueueTransport({
    pool: options.store.pool,
    schema: options.store.schema,
    migrate: false,
    leaseMs: options.leaseMs,
    drainTimeoutMs: options.drainTimeoutMs,
  });
  return new PostgresLogTransport(options.store, queue, {
    relayLeaseMs,
    logger: options.logger,
  });
}
