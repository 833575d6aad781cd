import { compileTopics, assertGroupName, TopologyConflictError } from '@eventfabric/core';
import type { Channel, ChannelModel } from 'amqplib';
import { bindingOf, deadLetterQueueName, retryQueueName } from './naming.js';
import type { RabbitMqPriorityLevels, RabbitMqQueueType } from './rabbitmq-options.js';

/** One queue to declare, with its exact arguments. */
export interface QueueDeclaration {
  name: string;
  role: 'work' | 'retry' | 'dead-letter';
  arguments: Record<string, string | number | boolean>;
  /** A priority group's work queue: its level, and its rank (0 is served first). */
  priority?: { level: string; rank: number };
}

/**
 * How a priority group's events reach its level queues: the context exchanges feed a
 * headers exchange `<group>.priority`, which routes on the `cloudEvents:priority` header
 * to `<group>.<level>`; an event without a known level goes through its alternate exchange
 * `<group>.priority.default` (fanout) to the default level's queue.
 */
export interface PriorityRouting {
  exchange: string;
  alternateExchange: string;
  levels: string[];
  defaultLevel: string;
  /** context exchange → `exchange`, one per topic pattern. */
  exchangeBindings: { source: string; destination: string; bindingKey: string }[];
}

/** What a consumer group needs on the broker. */
export interface GroupTopology {
  group: string;
  /** Topic exchanges, one per context the group's patterns name. */
  exchanges: string[];
  queues: QueueDeclaration[];
  /** Context exchange → work queue; empty for a priority group (see `priority`). */
  bindings: { exchange: string; queue: string; bindingKey: string }[];
  priority?: PriorityRouting;
  partitions?: PartitionRouting;
}

/**
 * How an ordered group's events reach its partition queues: the context exchanges feed a
 * headers exchange `<group>.partitions`, which routes on the `eventfabric-partition` header
 * (set by every publish) to `<group>.p<n>`; a message without it (another producer) goes
 * through the alternate exchange to `<group>.p0`.
 */
export interface PartitionRouting {
  exchange: string;
  alternateExchange: string;
  count: number;
  exchangeBindings: { source: string; destination: string; bindingKey: string }[];
}

/** The header an ordered group's exchange routes on: the key's partition, as a string. */
export const PARTITION_HEADER = 'eventfabric-partition';

/** An ordered group's queue of one partition. */
export function partitionQueueName(group: string, partition: number): string {
  return `${group}.p${partition}`;
}

/** FNV-1a, 32 bits, of the key's UTF-8 bytes, mod `partitions` (as the other transports). */
export function partitionOf(key: string, partitions: number): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(key, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % partitions;
}

/** The header a priority group's exchange routes on: the event's `priority` attribute. */
export const PRIORITY_HEADER = 'cloudEvents:priority';

/** The headers exchange of a priority group. */
export function priorityExchangeName(group: string): string {
  return `${group}.priority`;
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
  priority?: RabbitMqPriorityLevels,
  ordered?: { partitions: number },
): GroupTopology {
  assertGroupName(group);
  compileTopics(topics);
  const typed = (
    args: Record<string, string | number | boolean>,
  ): Record<string, string | number | boolean> =>
    queueType === 'quorum' ? { 'x-queue-type': 'quorum', ...args } : args;
  const routedBy = priority
    ? priorityExchangeName(group)
    : ordered
      ? `${group}.partitions`
      : undefined;
  const patterns = [...new Set(topics)].map((pattern) => bindingOf(pattern));
  const exchanges = [...new Set(patterns.map((b) => b.exchange))];
  const retries: QueueDeclaration[] = retryDelaysMs.map((delay) => ({
    name: retryQueueName(group, delay),
    role: 'retry',
    arguments: typed({
      'x-message-ttl': delay,
      // A priority group's retry goes back through its exchange, to the level it came from.
      ...(routedBy
        ? { 'x-dead-letter-exchange': routedBy }
        : { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': group }),
      // Quorum queues dead-letter at most once by default: a retry could vanish.
      ...(queueType === 'quorum'
        ? { 'x-dead-letter-strategy': 'at-least-once', 'x-overflow': 'reject-publish' }
        : {}),
    }),
  }));
  const deadLetters: QueueDeclaration = {
    name: deadLetterQueueName(group),
    role: 'dead-letter',
    arguments: typed({}),
  };
  if (ordered) {
    const exchange = `${group}.partitions`;
    return {
      group,
      exchanges,
      queues: [
        ...Array.from({ length: ordered.partitions }, (_, n) => ({
          name: partitionQueueName(group, n),
          role: 'work' as const,
          arguments: typed({ 'x-single-active-consumer': true }),
        })),
        ...retries,
        deadLetters,
      ],
      bindings: [],
      partitions: {
        exchange,
        alternateExchange: `${exchange}.default`,
        count: ordered.partitions,
        exchangeBindings: patterns.map((b) => ({
          source: b.exchange,
          destination: exchange,
          bindingKey: b.bindingKey,
        })),
      },
    };
  }
  if (!priority) {
    return {
      group,
      exchanges,
      queues: [{ name: group, role: 'work', arguments: typed({}) }, ...retries, deadLetters],
      bindings: patterns.map(({ exchange, bindingKey }) => ({
        exchange,
        queue: group,
        bindingKey,
      })),
    };
  }
  const exchange = priorityExchangeName(group);
  return {
    group,
    exchanges,
    queues: [
      ...priority.levels.map((level, rank) => ({
        name: priorityQueueName(group, level),
        role: 'work' as const,
        arguments: typed({}),
        priority: { level, rank },
      })),
      ...retries,
      deadLetters,
    ],
    bindings: [],
    priority: {
      exchange,
      alternateExchange: `${exchange}.default`,
      levels: [...priority.levels],
      defaultLevel: priority.default ?? priority.levels[priority.levels.length - 1]!,
      exchangeBindings: patterns.map((b) => ({
        source: b.exchange,
        destination: exchange,
        bindingKey: b.bindingKey,
      })),
    },
  };
}

/** A priority group's queue of one level: `<service>.<action>.<priority>`. */
export function priorityQueueName(group: string, level: string): string {
  return `${group}.${level}`;
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
    const routing = topology.priority;
    if (routing) {
      await channel.assertExchange(routing.alternateExchange, 'fanout', { durable: true });
      await channel.assertExchange(routing.exchange, 'headers', {
        durable: true,
        alternateExchange: routing.alternateExchange,
      });
      const group = topology.group;
      await channel.bindQueue(
        priorityQueueName(group, routing.defaultLevel),
        routing.alternateExchange,
        '',
      );
      for (const level of routing.levels) {
        await channel.bindQueue(priorityQueueName(group, level), routing.exchange, '', {
          'x-match': 'all',
          [PRIORITY_HEADER]: level,
        });
      }
      for (const b of routing.exchangeBindings) {
        await channel.bindExchange(b.destination, b.source, b.bindingKey);
      }
    }
    const partitions = topology.partitions;
    if (partitions) {
      await channel.assertExchange(partitions.alternateExchange, 'fanout', { durable: true });
      await channel.assertExchange(partitions.exchange, 'headers', {
        durable: true,
        alternateExchange: partitions.alternateExchange,
      });
      const group = topology.group;
      await channel.bindQueue(partitionQueueName(group, 0), partitions.alternateExchange, '');
      for (let n = 0; n < partitions.count; n++) {
        await channel.bindQueue(partitionQueueName(group, n), partitions.exchange, '', {
          'x-match': 'all',
          [PARTITION_HEADER]: String(n),
        });
      }
      for (const b of partitions.exchangeBindings) {
        await channel.bindExchange(b.destination, b.source, b.bindingKey);
      }
    }
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
