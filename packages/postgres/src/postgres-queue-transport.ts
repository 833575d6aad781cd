import {
  assertGroupName,
  compileTopics,
  InvalidArgumentError,
  normalizeEvent,
  resolveSubscribeLimits,
  StoreClosedError,
  type CloudEvent,
  type DeliveryHandler,
  type PublishResult,
  type Transport,
  type TransportSubscribeOptions,
  type TransportSubscription,
} from '@eventfabric/core';
import { AppendNotifier } from './append-notifier.js';
import { createPool, type ClientConfig, type Pool } from './driver.js';
import { migrate } from './migrations/index.js';
import { PostgresNotifier } from './notifier.js';
import { QueueMember } from './queue/queue-member.js';
import {
  resolveQueueOptions,
  type PostgresQueueTransportOptions,
  type ResolvedQueueOptions,
} from './queue/queue-options.js';
import { quoteIdentifier } from './schema-name.js';
import {
  enqueue,
  enqueueDirect,
  loadQueueGroups,
  registerQueueGroup,
  type QueueInsert,
} from './sql/queue-statements.js';

export type { PostgresQueueTransportOptions } from './queue/queue-options.js';

/** The groups a publisher routes to, as of one routing stamp. */
interface Routing {
  stamp: string;
  groups: { name: string; matches: (type: string) => boolean }[];
}

/** Reloads of a stale routing table before a publish gives up. */
const MAX_ROUTING_ATTEMPTS = 5;

/**
 * A {@link Transport} on PostgreSQL tables alone: a queue per consumer group in
 * `queue_messages`, claimed with `FOR UPDATE SKIP LOCKED`.
 *
 * - `publish` fans each event out, in one INSERT statement, to every group whose topic
 *   patterns match its type, and resolves after the commit. Groups exist from their first
 *   subscribe: an event published before any group matched it is unroutable, an error (not
 *   `persistent`). A group with no running member keeps receiving into its queue.
 * - Members claim the oldest ready message of each partition key, leased to them; an ack
 *   deletes it, a nack releases it (after a delay, if asked). So a key is handled one event
 *   at a time in publish order across every process, and other keys flow meanwhile.
 * - `deliveries` is counted at claim, in the row: the count survives a member's crash.
 * - Wake-ups: LISTEN/NOTIFY (publish notifies after its commit), a poll tick every `pollMs`, and a timer for
 *   the next delayed message.
 */
export class PostgresQueueTransport implements Transport {
  readonly schema: string;
  /** The pool queries run on: the caller's, or the transport's own. */
  readonly pool: Pool;
  private readonly s: string;
  private readonly channel: string;
  private readonly notifier: PostgresNotifier;
  /** NOTIFY the queue channel after a publish commits, coalesced. */
  private readonly published: AppendNotifier;
  private readonly members = new Set<QueueMember>();
  private readonly subscriptions = new Set<TransportSubscription>();
  private readonly pending = new Set<Promise<unknown>>();
  private routing: Routing | undefined;
  private closing: Promise<void> | undefined;

  /** Use {@link createPostgresQueueTransport}, which validates options and migrates. */
  constructor(
    private readonly options: ResolvedQueueOptions,
    pool: Pool,
    private readonly ownsPool: boolean,
  ) {
    this.pool = pool;
    this.schema = options.schema;
    this.s = quoteIdentifier(options.schema);
    this.channel = `${options.schema}_queue`;
    this.notifier = new PostgresNotifier(
      pool.options as ClientConfig,
      this.channel,
      options.pollMs,
    );
    this.published = new AppendNotifier(pool, this.channel);
  }

  async publish(events: readonly CloudEvent[]): Promise<PublishResult> {
    this.assertOpen();
    if (!Array.isArray(events)) throw new InvalidArgumentError('publish takes an array of events');
    const normalized = events.map((e) => normalizeEvent(e, { allowForeignTypes: true }));
    if (normalized.length > 0) await this.track(this.enqueue(normalized));
    // Members of this process need not wait for the NOTIFY to come back.
    for (const member of this.members) member.wake();
    return { positions: normalized.map(() => undefined) };
  }

  async subscribe(
    group: string,
    handler: DeliveryHandler,
    options: TransportSubscribeOptions,
  ): Promise<TransportSubscription> {
    this.assertOpen();
    assertGroupName(group);
    if (typeof handler !== 'function') {
      throw new InvalidArgumentError('subscribe needs a handler function');
    }
    if (typeof options !== 'object' || options === null) {
      throw new InvalidArgumentError('subscribe needs options with topics');
    }
    compileTopics(options.topics);
    const { prefetch, concurrency } = resolveSubscribeLimits(options);
    await this.track(registerQueueGroup(this.pool, this.s, group, options.topics));
    this.assertOpen();
    const member = new QueueMember({
      pool: this.pool,
      s: this.s,
      group,
      channel: this.channel,
      origin: `${this.schema}.queue_messages/${group}`,
      handler,
      prefetch,
      concurrency,
      leaseMs: this.options.leaseMs,
      drainTimeoutMs: this.options.drainTimeoutMs,
    });
    this.members.add(member);
    const stopWaking = this.notifier.on(() => member.wake());
    member.wake();
    let closed: Promise<void> | undefined;
    const subscription: TransportSubscription = {
      group,
      close: () => {
        closed ??= (async () => {
          stopWaking();
          await member.close();
          this.members.delete(member);
          this.subscriptions.delete(subscription);
        })();
        return closed;
      },
    };
    this.subscriptions.add(subscription);
    return subscription;
  }

  /** Close every subscription (draining handlers in flight), then the pool if it is ours. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.all([...this.subscriptions].map((s) => s.close()));
      await Promise.allSettled([...this.pending]);
      this.notifier.close();
      await this.published.close();
      if (this.ownsPool) await this.pool.end();
    })();
    return this.closing;
  }

  /**
   * Insert the fan-out of `events`, retrying when the routing table changed between its
   * load and the insert. An event no group matches, by a freshly loaded table, rejects the
   * whole batch and stores nothing.
   */
  private async enqueue(events: CloudEvent[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const fresh = this.routing === undefined;
      const routing = this.routing ?? (await this.loadRouting());
      const rows: QueueInsert[] = [];
      const unroutable = new Set<string>();
      for (const event of events) {
        const body = JSON.stringify(event);
        let matched = false;
        for (const group of routing.groups) {
          if (!group.matches(event.type)) continue;
          matched = true;
          rows.push({
            group: group.name,
            eventId: event.id,
            type: event.type,
            partitionKey: event.partitionkey,
            body,
          });
        }
        if (!matched) unroutable.add(event.type);
      }
      if (unroutable.size > 0) {
        if (!fresh) {
          this.routing = undefined;
          continue;
        }
        throw new InvalidArgumentError(
          `no consumer group subscribes to ${[...unroutable].join(', ')}: nothing was published`,
          { unroutable: [...unroutable] },
        );
      }
      const result = await enqueue(this.pool, this.s, rows, routing.stamp);
      if (result.stamp === routing.stamp) {
        // The insert committed (autocommit): wake the members of other processes.
        if (result.inserted > 0) this.published.notify();
        return;
      }
      this.routing = undefined;
      if (attempt >= MAX_ROUTING_ATTEMPTS) {
        throw new Error('the queue routing table kept changing during publish; try again');
      }
    }
  }

  /**
   * Queue events for one group only, bypassing routing by topic: what a relay that feeds a
   * group's queue from the event log calls (its own filter chose the events). Resolves once
   * the rows committed. Deliveries carry the events as published: a stored event's
   * `position` and `streamversion` are dropped.
   * @throws InvalidArgumentError for a malformed group name or event
   */
  async enqueueTo(group: string, events: readonly CloudEvent[]): Promise<void> {
    this.assertOpen();
    assertGroupName(group);
    if (!Array.isArray(events))
      throw new InvalidArgumentError('enqueueTo takes an array of events');
    const rows: QueueInsert[] = events.map((input) => {
      const event = normalizeEvent(input, { allowForeignTypes: true });
      return {
        group,
        eventId: event.id,
        type: event.type,
        partitionKey: event.partitionkey,
        body: JSON.stringify(event),
      };
    });
    if (rows.length === 0) return;
    await this.track(enqueueDirect(this.pool, this.s, rows));
    this.published.notify();
    for (const member of this.members) member.wake();
  }

  private async loadRouting(): Promise<Routing> {
    const { groups, stamp } = await loadQueueGroups(this.pool, this.s);
    const routing: Routing = {
      stamp,
      groups: groups.map((g) => ({ name: g.group_name, matches: compileTopics(g.topics) })),
    };
    this.routing = routing;
    return routing;
  }

  private async track<T>(promise: Promise<T>): Promise<T> {
    this.pending.add(promise);
    try {
      return await promise;
    } finally {
      this.pending.delete(promise);
    }
  }

  private assertOpen(): void {
    if (this.closing) throw new StoreClosedError();
  }
}

/**
 * Open a PostgreSQL queue transport: validate options, create the pool (unless given one),
 * apply pending migrations (unless `migrate: false`).
 */
export async function createPostgresQueueTransport(
  options: PostgresQueueTransportOptions,
): Promise<PostgresQueueTransport> {
  const resolved = resolveQueueOptions(options);
  const ownsPool = resolved.pool === undefined;
  const pool =
    resolved.pool ??
    createPool({ connectionString: resolved.connectionString, max: resolved.poolSize });
  try {
    if (resolved.migrate) await migrate(pool, resolved.schema);
  } catch (error) {
    if (ownsPool) await pool.end().catch(() => undefined);
    throw error;
  }
  return new PostgresQueueTransport(resolved, pool, ownsPool);
}
