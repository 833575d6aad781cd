import {
  EventTooLargeError,
  InvalidArgumentError,
  InvalidEventError,
  StoreClosedError,
  UnroutableEventError,
  compileTopics,
  normalizeEvent,
  resolveSubscribeLimits,
  assertGroupName,
  type CloudEvent,
  type DeadLetter,
  type DeliveryHandler,
  type Logger,
  type PublishResult,
  type Transport,
  type TransportSubscribeOptions,
  type TransportSubscription,
} from '@eventfabric/core';
import { encodeEvent } from './cloudevents-amqp.js';
import { ConfirmPublisher, type OutgoingMessage } from './confirm-publisher.js';
import { RecoveringConnection, type ConnectionState } from './connection.js';
import { deadLetterHeaders } from './dead-letter-message.js';
import { DeadLetterQueueSession } from './dead-letter-queue.js';
import { contextOf, deadLetterQueueName, exchangeOf } from './naming.js';
import {
  resolveRabbitMqOptions,
  type RabbitMqTransportOptions,
  type ResolvedRabbitMqOptions,
} from './rabbitmq-options.js';
import { RabbitMqSubscription } from './rabbitmq-subscription.js';
import {
  declareGroupTopology,
  groupTopology,
  PARTITION_HEADER,
  partitionOf,
  PRIORITY_HEADER,
  type GroupTopology,
} from './topology.js';

/** AMQP limits a routing key to 255 bytes. */
const MAX_ROUTING_KEY_BYTES = 255;

const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silentLogger,
};

/** Where the transport stands, for health checks, metrics and `eventfabric doctor`. */
export interface RabbitMqTransportStatus {
  connection: ConnectionState;
  /** Connections lost and made again since start. */
  reconnects: number;
  /** Connections lost since start (one still being made again included). */
  losses: number;
  /** Publishes awaiting their broker confirm. */
  unconfirmed: number;
  /**
   * How publishes ended since start: confirmed, returned by the broker (nothing bound:
   * unroutable) or failed (nacked, or the connection went before the confirm). Retry and
   * dead-letter copies count too.
   */
  published: { confirmed: number; returned: number; failed: number };
  /** Groups this transport consumes, one entry per running member. */
  subscriptions: string[];
}

/**
 * The RabbitMQ {@link Transport}. Events go to the topic exchange of their context
 * (`<context>.events`) with their type as routing key, mandatory and persistent, confirmed
 * by the broker; each group consumes its own durable queue, bound by its type patterns,
 * with a retry queue per delay step and a `.dlq`. See docs/rabbitmq.md.
 */
export class RabbitMqTransport implements Transport {
  readonly options: ResolvedRabbitMqOptions;
  private readonly connection: RecoveringConnection;
  private readonly publisher: ConfirmPublisher;
  private readonly subscriptions = new Set<RabbitMqSubscription>();
  private readonly logger: Logger;
  private closing: Promise<void> | undefined;

  /** Use {@link createRabbitMqTransport}, which connects before it resolves. */
  constructor(options: RabbitMqTransportOptions, logger: Logger = silentLogger) {
    this.options = resolveRabbitMqOptions(options);
    this.logger = logger;
    this.connection = new RecoveringConnection(this.options);
    this.publisher = new ConfirmPublisher(this.connection, this.options.confirmWindow);
    this.connection.onLost((error) =>
      this.logger.warn({ err: error }, 'RabbitMQ connection lost; reconnecting'),
    );
    this.connection.onConnected((_model, generation) => {
      if (generation > 1) this.logger.info({ generation }, 'RabbitMQ connection restored');
    });
  }

  /** Connect to the broker. */
  async open(): Promise<void> {
    await this.connection.open();
  }

  status(): RabbitMqTransportStatus {
    return {
      connection: this.connection.state,
      reconnects: this.connection.reconnects,
      losses: this.connection.losses,
      unconfirmed: this.publisher.inflight,
      published: { ...this.publisher.settled },
      subscriptions: [...this.subscriptions].map((s) => s.group),
    };
  }

  /** What subscribing `group` to `topics` declares, without touching the broker. */
  topologyFor(group: string, topics: readonly string[]): GroupTopology {
    return groupTopology(
      group,
      topics,
      this.options.queueType,
      this.options.retryDelaysMs,
      this.options.priorities[group],
      this.options.orderedGroups.has(group) ? { partitions: this.options.partitions } : undefined,
    );
  }

  /**
   * Declare a group's topology now, as `subscribe` would, without consuming (for
   * `eventfabric topology --declare` and deploy scripts). Idempotent.
   */
  async declare(topology: GroupTopology): Promise<void> {
    if (this.closing) throw new StoreClosedError();
    await declareGroupTopology(await this.connection.current(), topology);
  }

  /**
   * Lock and read the `.dlq` of `queue` (a group's work queue, or the `.dlq` itself): what
   * `eventfabric dlq … --transport amqp://` works on. Release the session when done.
   * @param options.waitMs how long to wait while another session holds it @defaultValue 0
   * @throws NotFoundError when the `.dlq` does not exist
   * @throws TransportUnavailableError when another session holds it past `waitMs`
   */
  async openDeadLetterQueue(
    queue: string,
    options: { waitMs?: number } = {},
  ): Promise<DeadLetterQueueSession> {
    if (this.closing) throw new StoreClosedError();
    return DeadLetterQueueSession.open(
      await this.connection.current(),
      queue,
      this.publisher,
      options.waitMs ?? 0,
    );
  }

  /**
   * Put a dead letter in its group's `<group>.dlq`: the event as the body (structured mode),
   * its context in headers, persistent; resolves once the broker confirms.
   * @throws UnroutableEventError when the `.dlq` does not exist (the group never subscribed)
   */
  async sendToDeadLetterQueue(entry: DeadLetter): Promise<void> {
    if (this.closing) throw new StoreClosedError();
    const queue = deadLetterQueueName(entry.group);
    const { body, properties } = encodeEvent(entry.event);
    const [outcome] = await this.publisher.publish([
      {
        exchange: '',
        routingKey: queue,
        body,
        properties: { ...properties, messageId: entry.event.id, headers: deadLetterHeaders(entry) },
      },
    ]);
    if (outcome !== 'confirmed') {
      throw new UnroutableEventError(`dead-letter queue ${queue} does not exist`, {
        queue,
        unroutable: [{ id: entry.event.id, type: entry.event.type }],
      });
    }
  }

  async publish(events: readonly CloudEvent[]): Promise<PublishResult> {
    if (this.closing) throw new StoreClosedError();
    if (!Array.isArray(events)) throw new InvalidArgumentError('publish takes an array of events');
    // Every check runs before anything is sent: bad input publishes nothing.
    const messages: OutgoingMessage[] = [];
    const normalized = events.map((e) => normalizeEvent(e, { allowForeignTypes: true }));
    for (const event of normalized) {
      if (Buffer.byteLength(event.type) > MAX_ROUTING_KEY_BYTES) {
        throw new InvalidEventError(`event type is longer than AMQP's 255-byte routing key`, [
          { path: '/type', message: `must be at most ${MAX_ROUTING_KEY_BYTES} bytes` },
        ]);
      }
      const { body, properties } = encodeEvent(event);
      if (body.length > this.options.maxEventBytes) {
        throw new EventTooLargeError(event.id, body.length, this.options.maxEventBytes);
      }
      // Priority groups route on a header: the body is not looked into by the broker.
      const priority = (event as unknown as { priority?: unknown }).priority;
      messages.push({
        exchange: exchangeOf(contextOf(event.type)),
        routingKey: event.type,
        body,
        properties: {
          ...properties,
          messageId: event.id,
          ...routingHeaders(event, priority, this.options),
        },
      });
    }
    if (messages.length === 0) return { positions: [] };
    await Promise.all(
      [...new Set(messages.map((m) => m.exchange))].map((x) => this.publisher.ensureExchange(x)),
    );
    const outcomes = await this.publisher.publish(messages);
    const unroutable = normalized.filter((_, i) => outcomes[i] === 'returned');
    if (unroutable.length > 0) {
      throw new UnroutableEventError(
        `${unroutable.length} of ${normalized.length} events reached no queue: no group is bound to ${[...new Set(unroutable.map((e) => e.type))].join(', ')}`,
        {
          unroutable: unroutable.map((e) => ({ id: e.id, type: e.type })),
          published: normalized.length - unroutable.length,
        },
      );
    }
    return { positions: normalized.map(() => undefined) };
  }

  async subscribe(
    group: string,
    handler: DeliveryHandler,
    options: TransportSubscribeOptions,
  ): Promise<TransportSubscription> {
    if (this.closing) throw new StoreClosedError();
    assertGroupName(group);
    if (typeof handler !== 'function') {
      throw new InvalidArgumentError('subscribe needs a handler function');
    }
    if (typeof options !== 'object' || options === null) {
      throw new InvalidArgumentError('subscribe needs options with topics');
    }
    compileTopics(options.topics);
    const limits = resolveSubscribeLimits(options);
    const topology = this.topologyFor(group, options.topics);
    const subscription = new RabbitMqSubscription(
      group,
      handler,
      topology,
      limits,
      {
        connection: this.connection,
        publisher: this.publisher,
        options: this.options,
        logger: this.logger,
      },
      (closed) => this.subscriptions.delete(closed),
    );
    this.subscriptions.add(subscription);
    try {
      await subscription.start();
    } catch (error) {
      await subscription.close();
      throw error;
    }
    return subscription;
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.all([...this.subscriptions].map((s) => s.close()));
      await this.connection.close();
    })();
    return this.closing;
  }
}

/**
 * The headers priority and ordered groups route on, only when there is one to send: a
 * header table costs every publish some encoding.
 */
function routingHeaders(
  event: CloudEvent,
  priority: unknown,
  options: ResolvedRabbitMqOptions,
): { headers?: Record<string, string> } {
  const headers: Record<string, string> = {};
  if (options.stampPartitions) {
    const key = event.partitionkey ?? event.subject ?? event.id;
    headers[PARTITION_HEADER] = String(partitionOf(key, options.partitions));
  }
  if (typeof priority === 'string') headers[PRIORITY_HEADER] = priority;
  return Object.keys(headers).length === 0 ? {} : { headers };
}

/**
 * Connect a RabbitMQ transport. Options are checked first (INVALID_CONFIG); an unreachable
 * broker fails with TRANSPORT_UNAVAILABLE.
 */
export async function createRabbitMqTransport(
  options: RabbitMqTransportOptions & { logger?: Logger },
): Promise<RabbitMqTransport> {
  const { logger, ...rest } = (options ?? {}) as RabbitMqTransportOptions & { logger?: Logger };
  const transport = new RabbitMqTransport(rest, logger);
  await transport.open();
  return transport;
}
