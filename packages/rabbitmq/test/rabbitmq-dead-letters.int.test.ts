import {
  createConsumer,
  createEvent,
  defineHandler,
  EventFabricError,
  NonRetryableError,
  type CloudEvent,
} from '@eventfabric/core';
import { describeDeadLetterStoreConformance } from '@eventfabric/conformance';
import { connect } from 'amqplib';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  createRabbitMqDeadLetterStore,
  createRabbitMqTransport,
  deadLetterQueueName,
  type RabbitMqTransport,
} from '../src/index.js';
import {
  deleteTopology,
  describeWithRabbitMq,
  queuesOf,
  TEST_AMQP_URL,
  uniqueSuffix,
} from './rabbitmq-available.js';

async function failureOf(action: () => Promise<unknown>): Promise<EventFabricError> {
  try {
    await action();
  } catch (error) {
    if (error instanceof EventFabricError) return error;
    throw error;
  }
  throw new Error('expected a failure, but it succeeded');
}

async function until(done: () => Promise<boolean> | boolean, what: string, ms = 15_000) {
  const deadline = Date.now() + ms;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Declare (fresh and empty) quorum queues, as a group's topology has them. */
async function freshQueues(names: readonly string[]): Promise<void> {
  await deleteTopology({ queues: names });
  const model = await connect(TEST_AMQP_URL);
  const channel = await model.createChannel();
  for (const name of names) {
    await channel.assertQueue(name, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
  }
  await model.close();
}

describeWithRabbitMq('RabbitMQ dead letters in <queue>.dlq', () => {
  let transport: RabbitMqTransport;
  const declared = new Set<string>();
  const exchanges = new Set<string>();
  beforeAll(async () => {
    transport = await createRabbitMqTransport({ url: TEST_AMQP_URL });
  });
  afterAll(async () => {
    await transport.close();
    await deleteTopology({ queues: declared, exchanges });
  });

  describeDeadLetterStoreConformance('rabbitmq', {
    async create() {
      const queues = ['svc.a.dlq', 'svc.b.dlq'];
      for (const q of queues) declared.add(q);
      await freshQueues(queues);
      return createRabbitMqDeadLetterStore({ transport, groups: ['svc.a', 'svc.b'] });
    },
  });

  it('given a consumer with the .dlq store, when handlers fail for good, then the dead letters wait in .dlq in order with their context, and a re-drive hands them back', async () => {
    // Given a handler that fails for good on events whose data says so.
    const suffix = uniqueSuffix();
    const type = `dl${suffix}.item.failed.v1`;
    const group = `svc${suffix}.ledger`;
    for (const q of queuesOf(group)) declared.add(q);
    exchanges.add(`dl${suffix}.events`);
    let healed = false;
    const handled: string[] = [];
    const consumer = createConsumer({
      service: `svc${suffix}`,
      transport,
      deadLetters: createRabbitMqDeadLetterStore({ transport }),
      handlers: [
        defineHandler<{ n: number; fail: boolean }>({
          name: 'ledger',
          on: [type],
          async handle(event) {
            if (event.data.fail && !healed) throw new NonRetryableError(`item ${event.data.n}`);
            handled.push(event.id);
          },
        }),
      ],
    });
    await consumer.start();
    const events: CloudEvent[] = [0, 1, 2, 3, 4].map((n) =>
      createEvent({
        type,
        source: '/t',
        subject: `item-${n}`,
        data: { n, fail: n % 2 === 1 },
      }),
    );

    // When they are published.
    await transport.publish(events);
    const store = createRabbitMqDeadLetterStore({ transport, groups: [group] });
    await until(async () => (await store.count()) === 2 && handled.length === 3, 'dead letters');

    // Then .dlq holds events 1 and 3, in order, with their error context.
    const session = await transport.openDeadLetterQueue(group);
    const entries = session.entries;
    await session.release();
    expect(entries.map((e) => [e.event?.id, e.handler, e.group, e.origin, e.reason])).toEqual([
      [events[1]!.id, 'ledger', group, group, 'non_retryable'],
      [events[3]!.id, 'ledger', group, group, 'non_retryable'],
    ]);
    expect(entries[0]).toMatchObject({
      queue: deadLetterQueueName(group),
      event: events[1],
      error: { code: 'NON_RETRYABLE', message: 'item 1' },
      attempts: 1,
    });
    expect(entries[0]!.error.stack).toContain('NonRetryableError: item 1');
    // Reading again loses and reorders nothing.
    const again = await transport.openDeadLetterQueue(group);
    expect(again.entries).toEqual(entries);

    // When the cause is fixed and they are re-driven.
    healed = true;
    const outcomes = await again.redrive(again.entries);
    await again.release();

    // Then each was confirmed, handled once, and left the .dlq.
    expect(outcomes.map((o) => [o.entry.id, o.error])).toEqual(
      entries.map((e) => [e.id, undefined]),
    );
    await until(() => handled.length === 5, 're-driven handlings');
    expect(handled.slice(3)).toEqual([events[1]!.id, events[3]!.id]);
    expect(await store.list()).toEqual([]);
    await consumer.stop();
  });

  it('given a dead letter stored twice, when read, then one is shown, and removing it takes both copies', async () => {
    const group = `svc${uniqueSuffix()}.twice`;
    declared.add(deadLetterQueueName(group));
    await freshQueues([deadLetterQueueName(group)]);
    const store = createRabbitMqDeadLetterStore({ transport, groups: [group] });
    const event = createEvent({
      type: 'test.item.failed.v1',
      source: '/t',
      subject: 'i',
      data: {},
    });
    const input = {
      handler: 'twice',
      group,
      origin: group,
      reason: 'exhausted' as const,
      event,
      error: { code: 'HANDLER_FAILED', message: 'boom' },
      attempts: 5,
      firstFailedAt: '2026-11-23T10:00:00.000Z',
      lastFailedAt: '2026-11-23T10:00:05.000Z',
    };
    const first = await store.add(input);
    await store.add({ ...input, attempts: 6 });

    const session = await transport.openDeadLetterQueue(group);
    expect([session.held.length, session.entries.map((e) => e.id)]).toEqual([2, [first.id]]);
    await session.release();
    expect(await store.remove([first.id])).toBe(1);
    const after = await transport.openDeadLetterQueue(group);
    expect(after.held.length).toBe(0);
    await after.release();
  });

  it('given a session open on a .dlq, when another asks for it, then TRANSPORT_UNAVAILABLE, or the queue once the first ends when it may wait', async () => {
    const group = `svc${uniqueSuffix()}.locked`;
    declared.add(deadLetterQueueName(group));
    await freshQueues([deadLetterQueueName(group)]);
    const other = await createRabbitMqTransport({ url: TEST_AMQP_URL });
    try {
      const first = await transport.openDeadLetterQueue(group);
      const refused = await failureOf(() => other.openDeadLetterQueue(group));
      expect([refused.code, refused.details.queue]).toEqual([
        'TRANSPORT_UNAVAILABLE',
        deadLetterQueueName(group),
      ]);
      // A reader that may wait gets the queue once the first lets go.
      const waiting = other.openDeadLetterQueue(`${group}.dlq`, { waitMs: 10_000 });
      await new Promise((resolve) => setTimeout(resolve, 300));
      await first.release();
      const second = await waiting;
      expect(second.dlq).toBe(deadLetterQueueName(group));
      const third = await failureOf(() => transport.openDeadLetterQueue(group, { waitMs: 200 }));
      expect(third.code).toBe('TRANSPORT_UNAVAILABLE');
      await second.release();
    } finally {
      await other.close();
    }
  });

  it('given no such queue, when opening its .dlq, then NOT_FOUND and nothing is declared', async () => {
    const group = `svc${uniqueSuffix()}.missing`;
    const error = await failureOf(() => transport.openDeadLetterQueue(group));
    expect([error.code, error.message, error.details]).toEqual([
      'NOT_FOUND',
      `queue ${group}.dlq does not exist`,
      { resource: 'queue', queue: `${group}.dlq` },
    ]);
    const again = await failureOf(() => transport.openDeadLetterQueue(group));
    expect(again.code).toBe('NOT_FOUND');
  });

  it('given a malformed message in a .dlq, when read and re-driven, then it shows as malformed and stays', async () => {
    const group = `svc${uniqueSuffix()}.bad`;
    const dlq = deadLetterQueueName(group);
    for (const q of [group, dlq]) declared.add(q);
    await freshQueues([group, dlq]);
    const model = await connect(TEST_AMQP_URL);
    const channel = await model.createConfirmChannel();
    channel.sendToQueue(dlq, Buffer.from('not json'), { contentType: 'text/plain' });
    await channel.waitForConfirms();
    await model.close();

    const session = await transport.openDeadLetterQueue(group);
    const [entry] = session.entries;
    expect(entry).toMatchObject({
      reason: 'malformed',
      event: null,
      body: 'not json',
      error: { code: 'INVALID_EVENT' },
      queue: dlq,
    });
    const [outcome] = await session.redrive(session.entries);
    await session.release();
    expect(outcome!.error?.code).toBe('INVALID_EVENT');
    const after = await transport.openDeadLetterQueue(group);
    expect(after.entries.map((e) => e.id)).toEqual([entry!.id]);
    await after.release();
  });
});
