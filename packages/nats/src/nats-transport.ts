import {
  assertGroupName,
  compileTopics,
  InvalidArgumentError,
  resolveSubscribeLimits,
  StoreClosedError,
  TransportUnavailableError,
  type CloudEvent,
  type DeliveryHandler,
  type PublishResult,
  type Transport,
  type TransportSubscribeOptions,
  type TransportSubscription,
} from '@eventfabric/core';
import {
  jetstream,
  jetstreamManager,
  type JetStreamClient,
  type JetStreamManager,
} from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  resolveNatsOptions,
  type NatsTransportOptions,
  type ResolvedNatsOptions,
} from './nats-options.js';
import { NatsPublisher } from './publisher.js';
import { PullMember } from './pull-member.js';
import {
  declareConsumer,
  declareDeadLetters,
  declareStream,
  planGroup,
  planStream,
  type NatsTopology,
} from './topology.js';

/**
 * A {@link Transport} on NATS JetStream: one stream per bounded context, one durable pull
 * consumer per group and partition, a dead-letter stream per group (see docs/nats.md).
 *
 * - **Publish** sends every event of a batch without waiting for the previous ack and
 *   resolves once JetStream has acked them all; `Nats-Msg-Id` is the event id, so resends
 *   are dropped by the server. The stream retains events for groups that subscribe later.
 * - **Order per partition key**: the key picks a partition (FNV-1a modulo `partitions`),
 *   and each partition consumer has one delivery in flight (`max_ack_pending` 1), so a key's
 *   events are handled one at a time, in order, by whichever member pulls them, across
 *   nacks, delays and crashes.
 * - **Redelivery** is the server's: `nak` (with `delay`) or `ack_wait` after a dead member;
 *   the delivery count is the server's, so it survives crashes.
 * - **Reconnect**: the client reconnects for ever; members pull again after a reconnect,
 *   and a publish in flight is resent until `publishTimeoutMs`.
 */
export class NatsTransport implements Transport {
  readonly options: ResolvedNatsOptions;
  private readonly publisher: NatsPublisher;
  private readonly streams = new Map<string, Promise<void>>();
  private readonly members = new Set<PullMember>();
  private readonly declared: NatsTopology = { streams: [], consumers: [], deadLetters: [] };
  private closed = false;
  private closing: Promise<void> | undefined;

  private constructor(
    readonly nc: NatsConnection,
    readonly js: JetStreamClient,
    readonly jsm: JetStreamManager,
    options: ResolvedNatsOptions,
  ) {
    this.options = options;
    this.publisher = new NatsPublisher({
      js,
      options,
      maxPayload: () => nc.info?.max_payload ?? 1024 * 1024,
      declareStream: (context, again) => this.declareStream(context, again),
      closing: () => this.closed,
    });
    void this.watchStatus();
  }

  /** Connect and return a transport. Declares nothing until the first publish or subscribe. */
  static async connect(options: NatsTransportOptions): Promise<NatsTransport> {
    const resolved = resolveNatsOptions(options);
    let nc: NatsConnection;
    try {
      nc = await connect({
        servers: resolved.servers,
        name: resolved.name,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 250,
        waitOnFirstConnect: false,
      });
    } catch (error) {
      throw new TransportUnavailableError(
        `cannot connect to NATS at ${resolved.servers.join(', ')}: ${(error as Error).message}`,
        { retryable: true, servers: resolved.servers },
        { cause: error },
      );
    }
    let jsm: JetStreamManager;
    try {
      // Checks that JetStream answers: a server started without -js does not.
      jsm = await jetstreamManager(nc, { timeout: 10_000 });
    } catch (error) {
      await nc.close().catch(() => undefined);
      throw new TransportUnavailableError(
        `NATS at ${resolved.servers.join(', ')} has no JetStream: ${(error as Error).message}`,
        { retryable: true, servers: resolved.servers },
        { cause: error },
      );
    }
    return new NatsTransport(nc, jetstream(nc, { timeout: 10_000 }), jsm, resolved);
  }

  async publish(events: readonly CloudEvent[]): Promise<PublishResult> {
    if (this.closed) throw new StoreClosedError();
    return this.publisher.publish(events);
  }

  async subscribe(
    group: string,
    handler: DeliveryHandler,
    options: TransportSubscribeOptions,
  ): Promise<TransportSubscription> {
    if (this.closed) throw new StoreClosedError();
    assertGroupName(group);
    if (typeof handler !== 'function') {
      throw new InvalidArgumentError('subscribe needs a handler function');
    }
    if (typeof options !== 'object' || options === null) {
      throw new InvalidArgumentError('subscribe needs options with topics');
    }
    const matches = compileTopics(options.topics);
    const { prefetch, concurrency } = resolveSubscribeLimits(options);
    const plan = planGroup(this.options, { group, topics: options.topics });
    await this.declareGroup(plan);
    if (this.closed) throw new StoreClosedError();
    const member = new PullMember({
      nc: this.nc,
      group,
      handler,
      consumers: plan.consumers,
      matches,
      prefetch,
      concurrency,
      ackWaitMs: this.options.consumer.ackWaitMs,
      pullExpiresMs: this.options.pullExpiresMs,
      drainTimeoutMs: this.options.drainTimeoutMs,
      redeclare: () => this.declareGroup(plan, true),
      logger: this.options.logger,
      onClosed: (closed) => this.members.delete(closed),
    });
    this.members.add(member);
    await member.start();
    return member;
  }

  /** True once `close()` was called. */
  isClosed(): boolean {
    return this.closed;
  }

  /** What this transport has declared on the server so far. */
  topology(): NatsTopology {
    return structuredClone(this.declared);
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.members].map((member) => member.close()));
    await this.nc.drain().catch(() => undefined);
  }

  /** Declare a context's stream once per transport; `again` declares it anew. */
  private declareStream(context: string, again = false): Promise<void> {
    let declaring = again ? undefined : this.streams.get(context);
    if (!declaring) {
      const plan = planStream(this.options, context);
      declaring = declareStream(this.jsm, plan).then(
        () => {
          if (!this.declared.streams.some((s) => s.name === plan.name)) {
            this.declared.streams.push(plan);
          }
        },
        (error: unknown) => {
          this.streams.delete(context);
          throw error;
        },
      );
      this.streams.set(context, declaring);
    }
    return declaring;
  }

  private async declareGroup(plan: ReturnType<typeof planGroup>, again = false): Promise<void> {
    await Promise.all(plan.streams.map((s) => this.declareStream(s.context, again)));
    await Promise.all(plan.consumers.map((c) => declareConsumer(this.jsm, c)));
    await declareDeadLetters(this.jsm, plan.deadLetters);
    for (const consumer of plan.consumers) {
      if (
        !this.declared.consumers.some(
          (c) => c.stream === consumer.stream && c.name === consumer.name,
        )
      ) {
        this.declared.consumers.push(consumer);
      }
    }
    if (!this.declared.deadLetters.some((d) => d.name === plan.deadLetters.name)) {
      this.declared.deadLetters.push(plan.deadLetters);
    }
  }

  private async watchStatus(): Promise<void> {
    const { logger, servers } = this.options;
    for await (const status of this.nc.status()) {
      if (status.type === 'disconnect') {
        logger.warn({ servers, server: status.server }, 'NATS connection lost; reconnecting');
      } else if (status.type === 'reconnect') {
        logger.info({ servers, server: status.server }, 'NATS connection back; pulling again');
        for (const member of this.members) member.reconnected();
      } else if (status.type === 'error') {
        logger.error({ servers, err: status.error }, 'NATS connection error');
      }
    }
  }
}

/**
 * Connect to NATS and return a JetStream {@link Transport}.
 * @throws InvalidConfigError for malformed options
 * @throws TransportUnavailableError when no server answers
 */
export function createNatsTransport(options: NatsTransportOptions): Promise<NatsTransport> {
  return NatsTransport.connect(options);
}
