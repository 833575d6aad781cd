import { compileTopics, assertGroupName, TopologyConflictError } from '@eventfabric/core';
import type { Channel, ChannelModel } from 'amqplib';
import { bindingOf, deadLetterQueueName, retryQueueName } from './naming.js';
import type { RabbitMqQueueType } from './rabbitmq-options.js';

/** One queue to declare, with its exact arguments. */
export interface QueueDeclaration {
  name: string;
  role: 'work' | 'retry' | 'dead-letter';
  arguments: Record<string, string | number>;
}

/** What a consumer group needs on the broker. */
export interface GroupTopology {
  group: string;
  /** Topic exchanges, one per context the group's patterns name. */
  exchanges: string[];
  queues: QueueDeclaration[];
  bindings: { exchange: string; queue: string; bindingKey: string }[];
}

/**
 * Everything a group declares: its work queue bound to each pattern's context exchange, one
 * retry queue per delay step (TTL, then dead-lettered back to the work queue through the
 * default exchange, so a retry reaches this group only), and its dead-letter queue.
 * @throws InvalidArgumentError for a bad group name or topic pattern
 */
export function groupTopology(
  group: string,
  topics: readonly string[],
  queueType: RabbitMqQueueType,
  retryDelaysMs: readonly number[],
): GroupTopology {
  assertGroupName(group);
  compileTopics(topics);
  const typed = (args: Record<string, string | number>): Record<string, string | number> =>
    queueType === 'quorum' ? { 'x-queue-type': 'quorum', ...args } : args;
  const bindings = [...new Set(topics)].map((pattern) => {
    const { exchange, bindingKey } = bindingOf(pattern);
    return { exchange, queue: group, bindingKey };
  });
  const retries: QueueDeclaration[] = retryDelaysMs.map((delay) => ({
    name: retryQueueName(group, delay),
    role: 'retry',
    arguments: typed({
      'x-message-ttl': delay,
      'x-dead-letter-exchange': '',
      'x-dead-letter-routing-key': group,
      // Quorum queues dead-letter at most once by default: a retry could vanish.
      ...(queueType === 'quorum'
        ? { 'x-dead-letter-strategy': 'at-least-once', 'x-overflow': 'reject-publish' }
        : {}),
    }),
  }));
  return {
    group,
    exchanges: [...new Set(bindings.map((b) => b.exchange))],
    queues: [
      { name: group, role: 'work', arguments: typed({}) },
      ...retries,
      { name: deadLetterQueueName(group), role: 'dead-letter', arguments: typed({}) },
    ],
    bindings,
  };
}

/** Declare a context's topic exchange (durable). Idempotent. */
export async function declareExchange(model: ChannelModel, exchange: string): Promise<void> {
  await withDeclareChannel(model, async (channel) => {
    await channel.assertExchange(exchange, 'topic', { durable: true });
  });
}

/**
 * Declare a group's topology. Idempotent: declaring the same topology again changes nothing.
 * A queue that exists with other arguments fails with TOPOLOGY_CONFLICT naming the queue and
 * the argument, and nothing after it is declared (the work queue comes first).
 */
export async function declareGroupTopology(
  model: ChannelModel,
  topology: GroupTopology,
): Promise<void> {
  await withDeclareChannel(model, async (channel) => {
    // The work queue first: a conflict there (the likeliest) leaves nothing declared.
    for (const queue of topology.queues) {
      await channel.assertQueue(queue.name, { durable: true, arguments: queue.arguments });
    }
    for (const exchange of topology.exchanges) {
      await channel.assertExchange(exchange, 'topic', { durable: true });
    }
    for (const b of topology.bindings) await channel.bindQueue(b.queue, b.exchange, b.bindingKey);
  });
}

/**
 * Run declarations on a channel of their own: a failed declaration closes its channel (a 406
 * or 404 channel error), so it must never be a channel anything else uses.
 */
async function withDeclareChannel(
  model: ChannelModel,
  declare: (channel: Channel) => Promise<void>,
): Promise<void> {
  const channel = await model.createChannel();
  channel.on('error', () => undefined);
  try {
    await declare(channel);
  } catch (error) {
    throw asTopologyError(error) ?? error;
  } finally {
    await channel.close().catch(() => undefined);
  }
}

const INEQUIVALENT =
  /inequivalent arg '([^']+)' for (queue|exchange) '([^']+)' in vhost '[^']*': (.*?)"?$/;

/** A PRECONDITION_FAILED on declare, as a TOPOLOGY_CONFLICT naming the queue and argument. */
export function asTopologyError(error: unknown): TopologyConflictError | undefined {
  const message = error instanceof Error ? error.message : '';
  if (!/PRECONDITION[-_]FAILED/.test(message)) return undefined;
  const match = INEQUIVALENT.exec(message);
  const [, argument, kind, name, difference] = match ?? [];
  const what = match ? `${kind} ${name}` : 'a queue or exchange';
  return new TopologyConflictError(
    `${what} already exists with a different ${argument ?? 'declaration'}${difference ? ` (${difference})` : ''}: delete it or declare it as it is`,
    {
      ...(kind === 'exchange' ? { exchange: name } : { queue: name }),
      argument: argument ?? null,
      brokerMessage: message,
    },
    { cause: error },
  );
}
