import { createEvent, EventFabricError, type CloudEvent, type Delivery } from '@eventfabric/core';
import { connect } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createRabbitMqDeadLetterStore,
  createRabbitMqTransport,
  deadLetterQueueName,
  DEFAULT_RETRY_DELAYS_MS,
  groupTopology,
  partitionOf,
  resolveRabbitMqOptions,
  retryQueueName,
  type RabbitMqTransport,
} from '../src/index.js';
import {
  deleteTopology,
  describeWithRabbitMq,
  TEST_AMQP_URL,
  uniqueSuffix,
} from './rabbitmq-available.js';

const URL_ONLY = { url: 'amqp://guest:guest@127.0.0.1:5672' };

function configError(priorities: unknown): unknown {
  try {
    resolveRabbitMqOptions({ ...URL_ONLY, priorities: priorities as never });
  } catch (error) {
    if (error instanceof EventFabricError) return [error.code, error.message];
    throw error;
  }
  return 'accepted';
}

describe('RabbitMQ priority options', () => {
  it('rejects bad levels, defaults and group names with INVALID_CONFIG', () => {
    expect(configError({ 'mailer.send': { levels: ['high'] } })).toEqual([
      'INVALID_CONFIG',
      'rabbitmq priorities: mailer.send needs 2 to 10 distinct levels, highest first, each lower-case letters, digits, _ or -',
    ]);
    expect(configError({ 'mailer.send': { levels: ['high', 'High'] } })).toEqual([
      'INVALID_CONFIG',
      'rabbitmq priorities: mailer.send needs 2 to 10 distinct levels, highest first, each lower-case letters, digits, _ or -',
    ]);
    expect(configError({ 'mailer.send': { levels: ['high', 'low'], default: 'mid' } })).toEqual([
      'INVALID_CONFIG',
      'rabbitmq priorities: the default of mailer.send must be one of its levels (high, low)',
    ]);
    expect(configError({ 'Mailer send': { levels: ['high', 'low'] } })).toEqual([
      'INVALID_CONFIG',
      'rabbitmq priorities: "Mailer send" is not a group name (<service>.<action>)',
    ]);
    expect(configError({ 'mailer.send': { levels: ['high', 'low'], weights: [2, 1] } })).toEqual([
      'INVALID_CONFIG',
      'rabbitmq priorities: unknown setting weights for mailer.send',
    ]);
    expect(configError({ 'mailer.send': { levels: ['high', 'low'] } })).toBe('accepted');
  });
});

describe('RabbitMQ ordered groups: options and topology', () => {
  function orderedError(options: Record<string, unknown>): unknown {
    try {
      resolveRabbitMqOptions({ ...URL_ONLY, ...options });
    } catch (error) {
      if (error instanceof EventFabricError) return [error.code, error.message];
      throw error;
    }
    return 'accepted';
  }

  it('rejects bad group names, a group both ordered and prioritised, and bad partition counts', () => {
    expect(orderedError({ orderedGroups: ['Ledger'] })).toEqual([
      'INVALID_CONFIG',
      'rabbitmq orderedGroups: "Ledger" is not a group name (<service>.<handler>)',
    ]);
    expect(
      orderedError({
        orderedGroups: ['bank.ledger'],
        priorities: { 'bank.ledger': { levels: ['high', 'low'] } },
      }),
    ).toEqual([
      'INVALID_CONFIG',
      'rabbitmq orderedGroups: bank.ledger has priorities too; a group is ordered or prioritised, not both',
    ]);
    expect(orderedError({ orderedGroups: ['bank.ledger'], partitions: 0 })).toEqual([
      'INVALID_CONFIG',
      'rabbitmq option partitions must be an integer from 1 to 1024',
    ]);
    expect(orderedError({ orderedGroups: ['bank.ledger'], partitions: 4 })).toBe('accepted');
  });

  it('declares single-active-consumer partition queues behind a headers exchange', () => {
    const topology = groupTopology('bank.ledger', ['bank.*'], 'quorum', [100], undefined, {
      partitions: 3,
    });
    expect(topology.queues.map((q) => [q.name, q.role, q.arguments])).toEqual([
      ['bank.ledger.p0', 'work', { 'x-queue-type': 'quorum', 'x-single-active-consumer': true }],
      ['bank.ledger.p1', 'work', { 'x-queue-type': 'quorum', 'x-single-active-consumer': true }],
      ['bank.ledger.p2', 'work', { 'x-queue-type': 'quorum', 'x-single-active-consumer': true }],
      [
        'bank.ledger.retry.100',
        'retry',
        {
          'x-queue-type': 'quorum',
          'x-message-ttl': 100,
          'x-dead-letter-exchange': 'bank.ledger.partitions',
          'x-dead-letter-strategy': 'at-least-once',
          'x-overflow': 'reject-publish',
        },
      ],
      ['bank.ledger.dlq', 'dead-letter', { 'x-queue-type': 'quorum' }],
    ]);
    expect(topology.partitions).toEqual({
      exchange: 'bank.ledger.partitions',
      alternateExchange: 'bank.ledger.partitions.default',
      count: 3,
      exchangeBindings: [
        { source: 'bank.events', destination: 'bank.ledger.partitions', bindingKey: 'bank.*.#' },
      ],
    });
    // The partition is FNV-1a of the key, as the other transports compute it.
    expect([
      partitionOf('account-1', 16),
      partitionOf('account-2', 16),
      partitionOf('é', 7),
    ]).toEqual([fnv('account-1') % 16, fnv('account-2') % 16, fnv('é') % 7]);
  });
});

/** FNV-1a 32, written out again as the reference. */
function fnv(text: string): number {
  let h = 2166136261;
  for (const b of new TextEncoder().encode(text)) h = Math.imul(h ^ b, 16777619) >>> 0;
  return h;
}

describeWithRabbitMq('RabbitMQ priority queues', () => {
  const suffix = uniqueSuffix();
  const context = `p${suffix}`;
  const group = `${context}.send`;
  const type = `${context}.mail.requested.v1`;
  const levels = ['high', 'normal', 'low'];
  let transport: RabbitMqTransport;

  beforeAll(async () => {
    transport = await createRabbitMqTransport({
      url: TEST_AMQP_URL,
      priorities: { [group]: { levels, default: 'normal' } },
    });
  });
  afterAll(async () => {
    await transport.close();
    await deleteTopology({
      queues: [
        ...levels.map((l) => `${group}.${l}`),
        deadLetterQueueName(group),
        ...DEFAULT_RETRY_DELAYS_MS.map((d) => retryQueueName(group, d)),
      ],
      exchanges: [`${group}.priority`, `${group}.priority.default`, `${context}.events`],
    });
  });

  // `priority` is an extension attribute: added to the event as built.
  const mail = (n: number, priority?: string): CloudEvent => ({
    ...createEvent({ type, source: '/t', subject: `mail-${n}`, data: { n } }),
    ...(priority === undefined ? {} : { priority }),
  });

  async function depths(): Promise<Record<string, number>> {
    const model = await connect(TEST_AMQP_URL);
    const channel = await model.createChannel();
    const out: Record<string, number> = {};
    for (const level of levels) {
      out[level] = (await channel.checkQueue(`${group}.${level}`)).messageCount;
    }
    await model.close();
    return out;
  }

  it('declares <service>.<action>.<priority> queues behind a headers exchange, as topologyFor says', async () => {
    const topology = transport.topologyFor(group, [type]);
    expect(topology.queues.filter((q) => q.role === 'work')).toEqual(
      levels.map((level, rank) => ({
        name: `${group}.${level}`,
        role: 'work',
        arguments: { 'x-queue-type': 'quorum' },
        priority: { level, rank },
      })),
    );
    expect(topology.bindings).toEqual([]);
    expect(topology.priority).toEqual({
      exchange: `${group}.priority`,
      alternateExchange: `${group}.priority.default`,
      levels,
      defaultLevel: 'normal',
      exchangeBindings: [
        { source: `${context}.events`, destination: `${group}.priority`, bindingKey: type },
      ],
    });
    expect(topology.queues.find((q) => q.role === 'retry')!.arguments).toEqual({
      'x-queue-type': 'quorum',
      'x-message-ttl': 100,
      'x-dead-letter-exchange': `${group}.priority`,
      'x-dead-letter-strategy': 'at-least-once',
      'x-overflow': 'reject-publish',
    });
    await transport.declare(topology);
    await transport.declare(topology);

    // Each event lands in its level's queue; no or an unknown priority goes to the default.
    await transport.publish([
      mail(1, 'high'),
      mail(2, 'low'),
      mail(3),
      mail(4, 'urgent'),
      mail(5, 'high'),
    ]);
    expect(await depths()).toEqual({ high: 2, normal: 2, low: 1 });
  });

  it('serves the higher levels first, retries back to the same level, and re-drives a dead letter to its level', async () => {
    // Given more waiting events of every level (the first test's five are still queued).
    await transport.publish([mail(6, 'low'), mail(7, 'normal'), mail(8, 'high'), mail(9, 'low')]);
    const handled: { n: number; origin: string }[] = [];
    let retried = false;
    let release!: () => void;
    const first = new Promise<void>((resolve) => (release = resolve));

    // When one member with one handler slot takes them all.
    const subscription = await transport.subscribe(
      group,
      async (delivery: Delivery) => {
        const { n } = delivery.event.data as { n: number };
        if (handled.length === 0) await first;
        if (n === 5 && !retried) {
          retried = true;
          await delivery.nack({ delayMs: 100 });
          return;
        }
        handled.push({ n, origin: delivery.origin });
        await delivery.ack();
      },
      { topics: [type], prefetch: 50, concurrency: 1 },
    );
    // The first handling waits until the member holds every message, so the rest are ranked.
    for (const deadline = Date.now() + 15_000; ;) {
      const waiting = Object.values(await depths()).reduce((a, b) => a + b, 0);
      if (waiting === 0) break;
      if (Date.now() > deadline) throw new Error(`${waiting} messages never arrived`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    release();
    await until(() => handled.length === 9, 'nine handlings');
    await subscription.close();

    // Then after the first, every high comes before every normal, every normal before every
    // low; the retried high one came back through its own level.
    const rank = (origin: string) => levels.indexOf(origin.slice(group.length + 1));
    // (The retried one comes back after its delay, behind what was waiting then.)
    const ranks = handled
      .slice(1)
      .filter((h) => h.n !== 5)
      .map((h) => rank(h.origin));
    expect(ranks.length).toBe(7);
    expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
    expect(handled.find((h) => h.n === 5)).toEqual({ n: 5, origin: `${group}.high` });
    expect(handled.map((h) => h.n).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const originOf = Object.fromEntries(handled.map((h) => [h.n, h.origin]));
    expect(originOf).toEqual({
      1: `${group}.high`,
      2: `${group}.low`,
      3: `${group}.normal`,
      4: `${group}.normal`,
      5: `${group}.high`,
      6: `${group}.low`,
      7: `${group}.normal`,
      8: `${group}.high`,
      9: `${group}.low`,
    });

    // And a dead letter from the high level is re-driven to the high level.
    const store = createRabbitMqDeadLetterStore({ transport, groups: [group] });
    const dead = await store.add({
      handler: 'send',
      group,
      origin: `${group}.high`,
      reason: 'exhausted',
      event: mail(10, 'high'),
      error: { code: 'HANDLER_FAILED', message: 'smtp down' },
      attempts: 5,
      firstFailedAt: '2026-11-23T10:00:00.000Z',
      lastFailedAt: '2026-11-23T10:00:05.000Z',
    });
    const session = await transport.openDeadLetterQueue(group);
    const [outcome] = await session.redrive(session.entries);
    await session.release();
    expect(outcome).toEqual({ entry: expect.objectContaining({ id: dead.id }) });
    expect(await depths()).toEqual({ high: 1, normal: 0, low: 0 });
  });
});

async function until(done: () => boolean, what: string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describeWithRabbitMq('RabbitMQ ordered group routing', () => {
  const context = `o${uniqueSuffix()}`;
  const group = `${context}.ledger`;
  const type = `${context}.entry.posted.v1`;
  const queues = [0, 1, 2, 3].map((n) => `${group}.p${n}`);

  afterAll(async () => {
    await deleteTopology({
      queues: [
        ...queues,
        deadLetterQueueName(group),
        ...DEFAULT_RETRY_DELAYS_MS.map((d) => retryQueueName(group, d)),
      ],
      exchanges: [`${group}.partitions`, `${group}.partitions.default`, `${context}.events`],
    });
  });

  async function depths(): Promise<number[]> {
    const model = await connect(TEST_AMQP_URL);
    const channel = await model.createChannel();
    const out: number[] = [];
    for (const q of queues) out.push((await channel.checkQueue(q)).messageCount);
    await model.close();
    return out;
  }

  it('puts each key in its partition queue; a publisher without partitions sends all to p0', async () => {
    const ordered = await createRabbitMqTransport({
      url: TEST_AMQP_URL,
      orderedGroups: [group],
      partitions: 4,
    });
    const plain = await createRabbitMqTransport({ url: TEST_AMQP_URL });
    try {
      await ordered.declare(ordered.topologyFor(group, [type]));
      const events = Array.from({ length: 40 }, (_, n) =>
        createEvent({ type, source: '/t', subject: `account-${n}`, data: { n } }),
      );
      await ordered.publish(events);
      const expected = [0, 0, 0, 0];
      for (const e of events) expected[partitionOf(e.partitionkey!, 4)]!++;
      expect(await depths()).toEqual(expected);
      expect(expected.filter((n) => n > 0).length).toBeGreaterThan(1);

      await plain.publish(events.slice(0, 5));
      expect(await depths()).toEqual([expected[0]! + 5, expected[1], expected[2], expected[3]]);
    } finally {
      await ordered.close();
      await plain.close();
    }
  });
});
