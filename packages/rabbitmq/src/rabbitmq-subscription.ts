import {
  InvalidArgumentError,
  type CloudEvent,
  type Delivery,
  type DeliveryHandler,
  type Logger,
  type NackOptions,
  type TransportSubscription,
} from '@eventfabric/core';
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import { decodeEvent } from './cloudevents-amqp.js';
import type { ConfirmPublisher } from './confirm-publisher.js';
import type { RecoveringConnection } from './connection.js';
import { AckBatcher } from './ack-batcher.js';
import { DEAD_LETTER_HEADERS, newDeadLetterId } from './dead-letter-message.js';
import { deadLetterQueueName, retryQueueName } from './naming.js';
import type { ResolvedRabbitMqOptions } from './rabbitmq-options.js';
import {
  declareGroupTopology,
  PARTITION_HEADER,
  PRIORITY_HEADER,
  type GroupTopology,
} from './topology.js';

/** Deliveries this transport made before the current one (carried through retry queues). */
export const DELIVERIES_HEADER = 'x-eventfabric-deliveries';
/** When a delayed retry may run, for delays past the last retry step (ms since epoch). */
export const NOT_BEFORE_HEADER = 'x-eventfabric-not-before';

interface Item {
  message: ConsumeMessage;
  event: CloudEvent;
  deliveryCount: number;
  attachment: Attachment;
  /** The queue it came from, and its priority rank (0 first; always 0 without levels). */
  queue: string;
  rank: number;
}

/** One channel consuming the group's queues; replaced after a lost connection. */
interface Attachment {
  channel: Channel;
  consumerTags: string[];
  acks: AckBatcher;
  live: boolean;
}

/** What a subscription needs from its transport. */
export interface SubscriptionContext {
  connection: RecoveringConnection;
  publisher: ConfirmPublisher;
  options: ResolvedRabbitMqOptions;
  logger: Logger;
}

/**
 * One member of a group: consumes the group's queue with `prefetch` unacked messages at
 * most, runs up to `concurrency` handlers, and never two of one partition key at once (the
 * key's later messages wait in arrival order). A nack with a delay goes through the retry
 * queue of the next delay step. After a lost connection it redeclares and consumes again.
 */
export class RabbitMqSubscription implements TransportSubscription {
  private attachment: Attachment | undefined;
  private readonly byKey = new Map<string, Item[]>();
  private readonly waiting: string[] = [];
  private readonly active = new Set<string>();
  private readonly inflight = new Set<Promise<void>>();
  private running = 0;
  private closing: Promise<void> | undefined;
  private stopListening: (() => void) | undefined;
  private reattachTimer: NodeJS.Timeout | undefined;
  private attaching = false;

  constructor(
    readonly group: string,
    private readonly handler: DeliveryHandler,
    private readonly topology: GroupTopology,
    private readonly limits: { prefetch: number; concurrency: number },
    private readonly context: SubscriptionContext,
    private readonly onClosed: (subscription: RabbitMqSubscription) => void,
  ) {}

  /** Declare the topology and start consuming; resolves once the consumer is registered. */
  async start(): Promise<void> {
    const model = await this.context.connection.current();
    await this.attach(model);
    this.stopListening = this.context.connection.onConnected((next) => {
      void this.reattach(next);
    });
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async attach(model: ChannelModel): Promise<void> {
    await declareGroupTopology(model, this.topology);
    const channel = await model.createChannel();
    const attachment: Attachment = {
      channel,
      consumerTags: [],
      acks: new AckBatcher(channel),
      live: true,
    };
    channel.on('error', (error: Error) => {
      this.context.logger.warn({ group: this.group, err: error }, 'consumer channel error');
    });
    channel.on('close', () => this.detached(attachment));
    await channel.prefetch(this.limits.prefetch);
    if (this.closing) {
      await channel.close().catch(() => undefined);
      return;
    }
    this.attachment = attachment;
    // One queue, or one per priority level on the same channel (one ack sequence).
    for (const queue of this.topology.queues.filter((q) => q.role === 'work')) {
      const rank = queue.priority?.rank ?? 0;
      const { consumerTag } = await channel.consume(queue.name, (message) => {
        if (message) this.received(attachment, message, queue.name, rank);
      });
      attachment.consumerTags.push(consumerTag);
    }
  }

  private async reattach(model: ChannelModel): Promise<void> {
    // Both a channel's close and a new connection can ask to resume: consume once.
    if (this.closing || this.attachment?.live || this.attaching) return;
    this.attaching = true;
    try {
      await this.resume(model);
    } finally {
      this.attaching = false;
    }
  }

  private async resume(model: ChannelModel): Promise<void> {
    try {
      await this.attach(model);
      this.context.logger.info({ group: this.group }, 'consumer resumed after reconnect');
    } catch (error) {
      this.context.logger.error({ group: this.group, err: error }, 'consumer could not resume');
      clearTimeout(this.reattachTimer);
      this.reattachTimer = setTimeout(() => {
        const now = this.context.connection.now;
        if (now) void this.reattach(now);
      }, 1000);
    }
  }

  /** The channel went: what it held goes back to the queue, and local buffers with it. */
  private detached(attachment: Attachment): void {
    attachment.live = false;
    if (this.attachment !== attachment) return;
    this.attachment = undefined;
    this.byKey.clear();
    this.waiting.length = 0;
    if (this.closing) return;
    this.context.logger.warn({ group: this.group }, 'consumer channel closed; waiting to resume');
    // A channel closed under a live connection (not a lost one) is reopened here.
    const model = this.context.connection.now;
    if (model) {
      clearTimeout(this.reattachTimer);
      this.reattachTimer = setTimeout(() => {
        const now = this.context.connection.now;
        if (now) void this.reattach(now);
      }, 200);
    }
  }

  private received(
    attachment: Attachment,
    message: ConsumeMessage,
    queue: string,
    rank: number,
  ): void {
    attachment.acks.received(message);
    if (this.closing || !attachment.live) {
      attachment.acks.nack(message);
      return;
    }
    const headers = (message.properties.headers ?? {}) as Record<string, unknown>;
    const notBefore = Number(headers[NOT_BEFORE_HEADER] ?? 0);
    if (notBefore - Date.now() > 5) {
      void this.park(attachment, message, notBefore - Date.now(), headers);
      return;
    }
    let event: CloudEvent;
    try {
      event = decodeEvent(message);
    } catch (error) {
      void this.rejectMalformed(attachment, message, error as Error, queue);
      return;
    }
    const before = Number(headers[DELIVERIES_HEADER] ?? 0) || 0;
    const returned =
      this.context.options.queueType === 'quorum'
        ? Number(headers['x-delivery-count'] ?? 0) || 0
        : message.fields.redelivered
          ? 1
          : 0;
    const item: Item = {
      message,
      event,
      deliveryCount: before + returned + 1,
      attachment,
      queue,
      rank,
    };
    const key = typeof event.partitionkey === 'string' ? event.partitionkey : event.id;
    const pending = this.byKey.get(key);
    if (pending) pending.push(item);
    else {
      this.byKey.set(key, [item]);
      if (!this.active.has(key)) this.waiting.push(key);
    }
    this.pump();
  }

  /**
   * The next waiting key: the first whose head is of the best priority rank (arrival order
   * among equals; without levels every rank is 0, so plain arrival order).
   */
  private nextKey(): string {
    let best = 0;
    let bestRank = Infinity;
    this.waiting.forEach((key, i) => {
      const rank = this.byKey.get(key)?.[0]?.rank ?? Infinity;
      if (rank < bestRank) {
        best = i;
        bestRank = rank;
      }
    });
    return this.waiting.splice(best, 1)[0]!;
  }

  private pump(): void {
    while (this.running < this.limits.concurrency && this.waiting.length > 0 && !this.closing) {
      const key = this.nextKey();
      const queue = this.byKey.get(key);
      const item = queue?.shift();
      if (!item) continue;
      if (queue!.length === 0) this.byKey.delete(key);
      this.active.add(key);
      this.run(key, item);
    }
  }

  private run(key: string, item: Item): void {
    this.running++;
    let settled = false;
    const settleOnce = (): boolean => {
      if (settled) return false;
      settled = true;
      return true;
    };
    const delivery: Delivery = {
      event: item.event,
      deliveryCount: item.deliveryCount,
      group: this.group,
      origin: item.queue,
      ack: async () => {
        if (!settleOnce()) return;
        if (item.attachment.live) await item.attachment.acks.ack(item.message);
      },
      nack: async (options?: NackOptions) => {
        const delayMs = nackDelay(options);
        if (!settleOnce()) return;
        if (delayMs === 0) this.requeue(item);
        else await this.retryLater(item, delayMs);
      },
    };
    const task = (async () => {
      try {
        await this.handler(delivery);
      } catch {
        // A handler that throws has not handled the event.
      }
      if (settleOnce()) this.requeue(item);
    })().finally(() => {
      this.running--;
      this.inflight.delete(task);
      this.active.delete(key);
      if (this.byKey.has(key)) this.waiting.push(key);
      this.pump();
    });
    this.inflight.add(task);
  }

  private requeue(item: Item): void {
    if (item.attachment.live) item.attachment.acks.nack(item.message);
  }

  /** Send a copy to the retry queue of the delay's step, confirmed, then ack the original. */
  private async retryLater(item: Item, delayMs: number): Promise<void> {
    if (!item.attachment.live) return;
    const headers: Record<string, unknown> = {
      [DELIVERIES_HEADER]: item.deliveryCount,
      ...priorityOf(item.message),
    };
    try {
      await this.sendToRetry(item.message, delayMs, headers);
      if (item.attachment.live) await item.attachment.acks.ack(item.message);
    } catch (error) {
      // Not parked: keep it in the work queue, so it is redelivered rather than lost.
      this.requeue(item);
      throw error;
    }
  }

  private async park(
    attachment: Attachment,
    message: ConsumeMessage,
    remainingMs: number,
    headers: Record<string, unknown>,
  ): Promise<void> {
    try {
      await this.sendToRetry(message, remainingMs, {
        [DELIVERIES_HEADER]: headers[DELIVERIES_HEADER] ?? 0,
        [NOT_BEFORE_HEADER]: headers[NOT_BEFORE_HEADER],
        ...priorityOf(message),
      });
      if (attachment.live) await attachment.acks.ack(message);
    } catch {
      if (attachment.live) attachment.acks.nack(message);
    }
  }

  private async sendToRetry(
    message: ConsumeMessage,
    delayMs: number,
    headers: Record<string, unknown>,
  ): Promise<void> {
    const steps = this.context.options.retryDelaysMs;
    const step = steps.find((d) => d >= delayMs) ?? steps[steps.length - 1]!;
    if (step < delayMs && headers[NOT_BEFORE_HEADER] === undefined) {
      headers[NOT_BEFORE_HEADER] = Date.now() + delayMs;
    }
    const queue = retryQueueName(this.group, step);
    const [outcome] = await this.context.publisher.publish([
      {
        exchange: '',
        routingKey: queue,
        body: message.content,
        properties: {
          ...copyProperties(message),
          messageId: String(message.properties.messageId ?? ''),
          headers,
          persistent: true,
          mandatory: true,
        },
      },
    ]);
    if (outcome !== 'confirmed') {
      throw new InvalidArgumentError(`retry queue ${queue} does not exist`, { queue });
    }
  }

  /** A message that is not a CloudEvent can never be handled: straight to `.dlq`, once. */
  private async rejectMalformed(
    attachment: Attachment,
    message: ConsumeMessage,
    error: Error,
    origin: string,
  ): Promise<void> {
    const queue = deadLetterQueueName(this.group);
    this.context.logger.error({ group: this.group, err: error }, 'malformed message dead-lettered');
    try {
      const [outcome] = await this.context.publisher.publish([
        {
          exchange: '',
          routingKey: queue,
          body: message.content,
          properties: {
            ...copyProperties(message),
            messageId: String(message.properties.messageId ?? ''),
            headers: {
              ...(message.properties.headers ?? {}),
              [DEAD_LETTER_HEADERS.id]: newDeadLetterId(),
              [DEAD_LETTER_HEADERS.group]: this.group,
              'x-eventfabric-reason': 'malformed',
              'x-eventfabric-error-code': 'INVALID_EVENT',
              'x-eventfabric-error-message': error.message,
              'x-eventfabric-origin': origin,
              'x-eventfabric-dead-lettered-at': new Date().toISOString(),
            },
            persistent: true,
            mandatory: true,
          },
        },
      ]);
      if (outcome !== 'confirmed') throw new Error(`${queue} does not exist`);
      if (attachment.live) await attachment.acks.ack(message);
    } catch {
      if (attachment.live) attachment.acks.nack(message);
    }
  }

  private async shutdown(): Promise<void> {
    this.stopListening?.();
    clearTimeout(this.reattachTimer);
    const attachment = this.attachment;
    if (attachment?.live) {
      for (const tag of attachment.consumerTags) {
        await attachment.channel.cancel(tag).catch(() => undefined);
      }
    }
    // Taken but never started: back to the queue for the rest of the group.
    for (const queue of this.byKey.values()) for (const item of queue) this.requeue(item);
    this.byKey.clear();
    this.waiting.length = 0;
    await drain(this.inflight, this.context.options.drainTimeoutMs);
    if (attachment) {
      attachment.live = false;
      await attachment.acks.flush();
      // Closing the channel returns whatever is still unacked (abandoned handlers) to the queue.
      await attachment.channel.close().catch(() => undefined);
    }
    this.onClosed(this);
  }
}

/** The routing headers (level, partition), carried through a retry queue back to its queue. */
function priorityOf(message: ConsumeMessage): Record<string, unknown> {
  const headers = (message.properties.headers ?? {}) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const name of [PRIORITY_HEADER, PARTITION_HEADER]) {
    if (headers[name] !== undefined) out[name] = headers[name];
  }
  return out;
}

function copyProperties(message: ConsumeMessage): { contentType?: string; type?: string } {
  const { contentType, type } = message.properties as { contentType?: string; type?: string };
  return {
    ...(contentType === undefined ? {} : { contentType }),
    ...(type === undefined ? {} : { type }),
  };
}

function nackDelay(options: NackOptions | undefined): number {
  const delay = options?.delayMs ?? 0;
  if (typeof delay !== 'number' || !Number.isFinite(delay) || delay < 0) {
    throw new InvalidArgumentError('nack delayMs must be a non-negative number', {
      delayMs: delay as never,
    });
  }
  return delay;
}

async function drain(inflight: Set<Promise<void>>, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
  await Promise.race([Promise.allSettled([...inflight]), deadline]);
  clearTimeout(timer);
}
