import {
  createConsumer,
  createEvent,
  EventFabricError,
  NonRetryableError,
  type CloudEvent,
  type Delivery,
} from '@eventfabric/core';
import {
  describeDeadLetterStoreConformance,
  describeProcessedEventsConformance,
} from '@eventfabric/conformance';
import { afterAll, afterEach, expect, it } from 'vitest';
import {
  formatNatsTopology,
  inspectNatsTopology,
  createNatsDeadLetterStore,
  createNatsIdempotencyKeyStore,
  createNatsProcessedEvents,
  createNatsTransport,
  type NatsTransport,
  type NatsTransportOptions,
} from '../src/index.js';
import { deleteStreams, describeWithNats, TEST_NATS_URL, uniqueToken } from './nats-available.js';

/** Every stream a test of this file creates starts with one of these. */
const prefixes = new Set<string>();
const opened: NatsTransport[] = [];

/**
 * A transport whose stream names start with `<ns>_` and subjects with `<ns>`, so tests
 * sharing the server never meet; closed after the test.
 */
async function connect(
  ns: string,
  options: Partial<NatsTransportOptions> = {},
): Promise<NatsTransport> {
  prefixes.add(`${ns}_`);
  prefixes.add(`KV_${ns}_`);
  const transport = await createNatsTransport({
    servers: TEST_NATS_URL,
    namePrefix: `${ns}_`,
    subjectPrefix: ns,
    ...options,
  });
  opened.push(transport);
  return transport;
}

function event(type: string, subject: string, data: unknown = {}): CloudEvent {
  return createEvent({ type, source: '/topology-test', subject, data });
}

async function errorOf(promise: Promise<unknown>): Promise<EventFabricError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(EventFabricError);
  return error as EventFabricError;
}

async function until(predicate: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describeWithNats('NATS topology', () => {
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((t) => t.close()));
  });
  afterAll(() => deleteStreams(prefixes));

  it('declares a stream per context, a consumer per group and partition with the mapped filter, and a dead-letter stream; declaring again changes nothing', async () => {
    const ns = uniqueToken();
    const first = await connect(ns, { partitions: 4 });
    const second = await connect(ns, { partitions: 4 });
    const handle = async (delivery: Delivery) => delivery.ack();
    const topics = ['billing.invoice.*', 'billing.*.paid.v1'];

    await first.subscribe('billing.ledger', handle, { topics: ['billing.invoice.*'] });
    await second.subscribe('billing.ledger', handle, { topics: ['billing.invoice.*'] });
    await second.subscribe('billing.audit', handle, { topics });

    const stream = await first.jsm.streams.info(`${ns}_billing_events`);
    expect(stream.config).toMatchObject({
      subjects: [`${ns}.events.*.billing`, `${ns}.events.*.billing.>`],
      storage: 'file',
      num_replicas: 1,
      max_age: 7 * 86_400_000 * 1_000_000,
      max_bytes: -1,
      duplicate_window: 120_000 * 1_000_000,
      retention: 'limits',
      discard: 'new',
      description: 'eventfabric billing.events partitions=4',
    });
    const consumers: Record<string, string> = {};
    for await (const info of first.jsm.consumers.list(`${ns}_billing_events`)) {
      expect(info.config).toMatchObject({ ack_policy: 'explicit', max_ack_pending: 1 });
      consumers[info.name] = info.config.filter_subject!;
    }
    expect(consumers).toEqual({
      billing_ledger_p00: `${ns}.events.0.billing.invoice.>`,
      billing_ledger_p01: `${ns}.events.1.billing.invoice.>`,
      billing_ledger_p02: `${ns}.events.2.billing.invoice.>`,
      billing_ledger_p03: `${ns}.events.3.billing.invoice.>`,
      // Two patterns: their common literal prefix; the member filters the rest exactly.
      billing_audit_p00: `${ns}.events.0.billing.>`,
      billing_audit_p01: `${ns}.events.1.billing.>`,
      billing_audit_p02: `${ns}.events.2.billing.>`,
      billing_audit_p03: `${ns}.events.3.billing.>`,
    });
    const dlq = await first.jsm.streams.info(`${ns}_billing_ledger_dlq`);
    expect(dlq.config.subjects).toEqual([
      `${ns}.dlq.billing.ledger`,
      ...[0, 1, 2, 3].map(
        (p) =>
          `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${ns}_billing_events.billing_ledger_p0${p}`,
      ),
    ]);
    expect(first.topology().consumers.map((c) => c.name)).toEqual(
      [0, 1, 2, 3].map((p) => `billing_ledger_p0${p}`),
    );
  });

  it('inspecting a server reads back the declared topology, with message counts, and prints it', async () => {
    const ns = uniqueToken();
    const transport = await connect(ns, { partitions: 2 });
    await transport.subscribe('billing.ledger', async (d) => d.ack(), {
      topics: ['billing.invoice.*'],
    });
    await transport.publish([event('billing.invoice.sent.v1', 'invoice-1')]);

    const report = await inspectNatsTopology({ servers: TEST_NATS_URL, namePrefix: `${ns}_` });

    const declared = transport.topology();
    expect(report.streams).toEqual(declared.streams);
    expect(report.consumers).toEqual(declared.consumers);
    expect(report.deadLetters).toEqual(declared.deadLetters);
    expect(report.messages).toEqual({
      [`${ns}_billing_events`]: 1,
      [`${ns}_billing_ledger_dlq`]: 0,
    });
    expect(formatNatsTopology(report).split('\n').slice(0, 1)).toEqual([
      `stream billing.events (${ns}_billing_events, 1 messages)`,
    ]);
  });

  it('a group with two patterns receives exactly the types they match, each once', async () => {
    const ns = uniqueToken();
    const transport = await connect(ns, { partitions: 2 });
    const seen: string[] = [];
    await transport.subscribe(
      'billing.audit',
      async (delivery) => {
        seen.push(delivery.event.type);
        await delivery.ack();
      },
      { topics: ['billing.invoice.*', 'billing.*.paid.v1'] },
    );
    const types = [
      'billing.invoice.sent.v1',
      'billing.order.paid.v1',
      'billing.order.paid.v2',
      'billing.refund.sent.v1',
    ];

    await transport.publish(types.map((type, n) => event(type, `order-${n}`)));
    await until(() => seen.length === 2, 'two deliveries');
    await new Promise((resolve) => setTimeout(resolve, 200));

    expect(seen.sort()).toEqual(['billing.invoice.sent.v1', 'billing.order.paid.v1']);
  });

  it('a group whose topics span two contexts reads both streams; a batch spanning them is stored in each', async () => {
    const ns = uniqueToken();
    const transport = await connect(ns, { partitions: 2 });
    const seen: string[] = [];
    await transport.subscribe(
      'audit.trail',
      async (d) => {
        seen.push(`${d.origin} ${d.event.type}`);
        await d.ack();
      },
      { topics: ['billing.invoice.*', 'orders.order.placed.v1'] },
    );

    const result = await transport.publish([
      event('billing.invoice.sent.v1', 'invoice-1'),
      event('orders.order.placed.v1', 'order-1'),
      event('orders.order.cancelled.v1', 'order-1'),
      event('billing.invoice.paid.v1', 'invoice-1'),
    ]);
    await until(() => seen.length === 3, 'three deliveries');
    await new Promise((resolve) => setTimeout(resolve, 200));

    expect(result.positions).toEqual(['1', '1', '2', '2']);
    expect(seen.sort()).toEqual([
      'billing.events billing.invoice.paid.v1',
      'billing.events billing.invoice.sent.v1',
      'orders.events orders.order.placed.v1',
    ]);
    const dlq = await transport.jsm.streams.info(`${ns}_audit_trail_dlq`);
    expect(dlq.config.subjects).toHaveLength(1 + 2 * 2);
    expect(dlq.config.subjects.filter((s) => s.includes(`${ns}_orders_events.`))).toHaveLength(2);
  });

  it('a stream that exists with other settings fails the publish with TOPOLOGY_CONFLICT, and nothing is written', async () => {
    const ns = uniqueToken();
    const original = await connect(ns, { stream: { maxAgeMs: 60_000, duplicateWindowMs: 30_000 } });
    await original.publish([event('orders.order.placed.v1', 'order-1')]);
    const otherAge = await connect(ns, {
      stream: { maxAgeMs: 120_000, duplicateWindowMs: 30_000 },
    });
    const otherPartitions = await connect(ns, {
      stream: { maxAgeMs: 60_000, duplicateWindowMs: 30_000 },
      partitions: 8,
    });

    const errors = [
      await errorOf(otherAge.publish([event('orders.order.placed.v1', 'order-2')])),
      await errorOf(otherPartitions.publish([event('orders.order.placed.v1', 'order-3')])),
    ];

    expect(errors.map((e) => e.code)).toEqual(['TOPOLOGY_CONFLICT', 'TOPOLOGY_CONFLICT']);
    expect(errors[0]!.details).toMatchObject({
      stream: `${ns}_orders_events`,
      differences: [{ setting: 'max_age', declared: 120_000_000_000, existing: 60_000_000_000 }],
    });
    expect(errors[1]!.details).toMatchObject({
      differences: [
        {
          setting: 'description',
          declared: 'eventfabric orders.events partitions=8',
          existing: 'eventfabric orders.events partitions=16',
        },
      ],
    });
    const info = await original.jsm.streams.info(`${ns}_orders_events`);
    expect(info.state.messages).toBe(1);
    expect(info.config.max_age).toBe(60_000_000_000);
  });

  it('joining a group with other topics fails with TOPOLOGY_CONFLICT and leaves its consumers as they were', async () => {
    const ns = uniqueToken();
    const transport = await connect(ns, { partitions: 2 });
    const handled: string[] = [];
    await transport.subscribe(
      'orders.shipping',
      async (d) => {
        handled.push(d.event.type);
        await d.ack();
      },
      { topics: ['orders.order.placed.v1'] },
    );

    const error = await errorOf(
      transport.subscribe('orders.shipping', async (d) => d.ack(), {
        topics: ['orders.order.cancelled.v1'],
      }),
    );
    await transport.publish([
      event('orders.order.placed.v1', 'order-1'),
      event('orders.order.cancelled.v1', 'order-1'),
    ]);
    await until(() => handled.length === 1, 'the placed order');
    await new Promise((resolve) => setTimeout(resolve, 200));

    expect(error.code).toBe('TOPOLOGY_CONFLICT');
    expect(error.details).toMatchObject({
      consumer: 'orders_shipping_p00',
      group: 'orders.shipping',
      differences: [
        {
          setting: 'filter_subject',
          declared: `${ns}.events.0.orders.order.cancelled.v1`,
          existing: `${ns}.events.0.orders.order.placed.v1`,
        },
      ],
    });
    const info = await transport.jsm.consumers.info(`${ns}_orders_events`, 'orders_shipping_p01');
    expect(info.config.filter_subject).toBe(`${ns}.events.1.orders.order.placed.v1`);
    expect(handled).toEqual(['orders.order.placed.v1']);
  });

  it('an event published twice (a retry) is stored once, by its Nats-Msg-Id, and handled once', async () => {
    const ns = uniqueToken();
    const transport = await connect(ns);
    const handled: string[] = [];
    await transport.subscribe(
      'orders.mailer',
      async (d) => {
        handled.push(d.event.id);
        await d.ack();
      },
      { topics: ['orders.*'] },
    );
    const placed = event('orders.order.placed.v1', 'order-1');
    const other = event('orders.order.placed.v1', 'order-2');

    const first = await transport.publish([placed]);
    const again = await transport.publish([placed, other, placed]);
    await until(() => handled.length === 2, 'two events handled');
    await new Promise((resolve) => setTimeout(resolve, 200));

    expect(again.positions).toEqual([first.positions[0], '2', first.positions[0]]);
    expect(handled.sort()).toEqual([placed.id, other.id].sort());
    expect((await transport.jsm.streams.info(`${ns}_orders_events`)).state.messages).toBe(2);
  });

  it('an event the server gives up on after max_deliver lands in <group>.dlq, listed as a poison dead letter with its event', async () => {
    const ns = uniqueToken();
    const transport = await connect(ns, { partitions: 2, consumer: { maxDeliver: 3 } });
    const store = await createNatsDeadLetterStore(transport);
    const deliveries: number[] = [];
    const poison = event('orders.order.placed.v1', 'order-poison', { n: 1 });
    const fine = event('orders.order.placed.v1', 'order-fine', { n: 2 });
    const handledFine: string[] = [];
    await transport.subscribe(
      'orders.billing',
      async (d) => {
        if (d.event.id === poison.id) {
          deliveries.push(d.deliveryCount);
          return d.nack();
        }
        handledFine.push(d.event.id);
        await d.ack();
      },
      { topics: ['orders.order.placed.v1'] },
    );

    await transport.publish([poison, fine]);
    await until(async () => (await store.count()) === 1, 'the dead letter');
    await until(() => handledFine.length === 1, 'the other event');

    const [letter, ...more] = await store.list();
    expect(more).toEqual([]);
    expect(deliveries).toEqual([1, 2, 3]);
    expect(letter).toMatchObject({
      group: 'orders.billing',
      handler: 'billing',
      origin: 'orders.events',
      reason: 'poison',
      event: poison,
      attempts: 3,
      error: {
        code: 'MAX_DELIVERIES',
        details: { consumer: expect.stringMatching(/^orders_billing_p0[01]$/), deliveries: 3 },
      },
    });
    expect(await store.get(letter!.id)).toEqual(letter);
    expect(await store.remove([letter!.id, 'unknown'])).toBe(1);
    expect(await store.list()).toEqual([]);
  });

  it('a handler failure dead-lettered by the consumer framework keeps its error context in <group>.dlq', async () => {
    const ns = uniqueToken();
    const transport = await connect(ns, { partitions: 2 });
    const store = await createNatsDeadLetterStore(transport);
    const bad = event('orders.order.placed.v1', 'order-bad', { total: -1 });
    const good = event('orders.order.placed.v1', 'order-good', { total: 5 });
    const handled: string[] = [];
    const consumer = createConsumer({
      service: 'orders',
      transport,
      deadLetters: store,
      retry: { maxAttempts: 3, initialDelayMs: 10, maxDelayMs: 20 },
      handlers: [
        {
          name: 'invoicing',
          on: ['orders.order.placed.v1'],
          handle: (e) => {
            if ((e.data as { total: number }).total < 0) {
              throw new NonRetryableError('a negative total', { total: -1 });
            }
            handled.push(e.id);
          },
        },
      ],
    });
    await consumer.start();
    try {
      await transport.publish([bad, good]);
      await until(async () => (await store.count()) === 1, 'the dead letter');
      await until(() => handled.length === 1, 'the good event');
    } finally {
      await consumer.stop();
    }

    const letters = await store.list();
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({
      group: 'orders.invoicing',
      handler: 'invoicing',
      origin: 'orders.events',
      reason: 'non_retryable',
      event: bad,
      attempts: 1,
      error: { code: 'NON_RETRYABLE', message: 'a negative total', details: { total: -1 } },
    });
    expect(letters[0]!.error.stack).toContain('NonRetryableError');
    expect(handled).toEqual([good.id]);
    const dlq = await transport.jsm.streams.info(`${ns}_orders_invoicing_dlq`);
    expect(dlq.state.messages).toBe(1);
  });

  it('binary mode carries every attribute as a ce- header and data as the body; a structured member reads it as published', async () => {
    const ns = uniqueToken();
    const publisher = await connect(ns, { mode: 'binary', partitions: 1 });
    const reader = await connect(ns, { partitions: 1 });
    const received: CloudEvent[] = [];
    await reader.subscribe(
      'orders.reader',
      async (d) => {
        received.push(d.event);
        await d.ack();
      },
      { topics: ['orders.*'] },
    );
    const placed = { ...event('orders.order.placed.v1', 'order-1', { total: 5 }), tenantid: 't-1' };

    await publisher.publish([placed]);
    await until(() => received.length === 1, 'the event');

    expect(received).toEqual([placed]);
    const stored = await publisher.jsm.streams.getMessage(`${ns}_orders_events`, { seq: 1 });
    expect(stored!.string()).toBe('{"total":5}');
    expect(stored!.header.get('ce-id')).toBe(placed.id);
    expect(stored!.header.get('ce-tenantid')).toBe('t-1');
    expect(stored!.header.get('Nats-Msg-Id')).toBe(placed.id);
    expect(stored!.header.get('Content-Type')).toBe('application/json');
  });

  it('a message that is not a CloudEvent is terminated and logged, and the partition moves on', async () => {
    const ns = uniqueToken();
    const errors: { obj: Record<string, unknown>; msg?: string }[] = [];
    const logger = {
      debug: () => undefined,
      info: () => undefined,
      warn: () => undefined,
      error: (obj: object, msg?: string) => void errors.push({ obj: obj as never, msg }),
      child: () => logger,
    };
    const transport = await connect(ns, { partitions: 1, logger });
    const handled: string[] = [];
    await transport.subscribe(
      'orders.reader',
      async (d) => {
        handled.push(d.event.id);
        await d.ack();
      },
      { topics: ['orders.*'] },
    );
    const after = event('orders.order.placed.v1', 'order-1');

    await transport.js.publish(`${ns}.events.0.orders.order.placed.v1`, 'not json');
    await transport.publish([after]);
    await until(() => handled.length === 1, 'the event after the malformed one');

    expect(handled).toEqual([after.id]);
    expect(errors.map((e) => [e.msg, e.obj.subject])).toEqual([
      [
        'a message that is not a CloudEvent was terminated',
        `${ns}.events.0.orders.order.placed.v1`,
      ],
    ]);
    // Acks are not confirmed by the server: wait for the last one to land, then nothing is
    // left pending on the partition (the malformed message was terminated, not stuck).
    const pending = async () => {
      const info = await transport.jsm.consumers.info(`${ns}_orders_events`, 'orders_reader_p00');
      return [info.num_ack_pending, info.num_pending];
    };
    await until(async () => (await pending()).every((n) => n === 0), 'no pending message');
    expect(await pending()).toEqual([0, 0]);
  });

  it('a handler running past ack_wait keeps its delivery (+WPI): it is not redelivered meanwhile', async () => {
    const ns = uniqueToken();
    const transport = await connect(ns, { partitions: 1, consumer: { ackWaitMs: 600 } });
    const counts: number[] = [];
    await transport.subscribe(
      'orders.slow',
      async (d) => {
        counts.push(d.deliveryCount);
        await new Promise((resolve) => setTimeout(resolve, 1500));
        await d.ack();
      },
      { topics: ['orders.*'], concurrency: 2 },
    );

    await transport.publish([event('orders.order.placed.v1', 'order-1')]);
    await until(() => counts.length === 1, 'the delivery');
    await new Promise((resolve) => setTimeout(resolve, 2200));

    expect(counts).toEqual([1]);
    const info = await transport.jsm.consumers.info(`${ns}_orders_events`, 'orders_slow_p00');
    expect([info.num_ack_pending, info.num_redelivered]).toEqual([0, 0]);
  });

  it('dead-lettering one event of a group twice (a member died before its ack) keeps one entry', async () => {
    const transport = await connect(uniqueToken());
    const store = await createNatsDeadLetterStore(transport);
    const failed = event('orders.order.placed.v1', 'order-1');
    const entry = {
      handler: 'billing',
      group: 'orders.billing',
      origin: 'orders.events',
      reason: 'non_retryable' as const,
      event: failed,
      error: { code: 'NON_RETRYABLE', message: 'no' },
      attempts: 1,
      firstFailedAt: '2026-11-23T10:00:00.000Z',
      lastFailedAt: '2026-11-23T10:00:00.000Z',
    };

    const first = await store.add(entry);
    const again = await store.add({ ...entry, attempts: 2 });
    const other = await store.add({ ...entry, group: 'orders.mailer', handler: 'mailer' });

    expect(again).toEqual(first);
    expect((await store.list()).map((l) => l.id)).toEqual([first.id, other.id]);
    await store.remove([first.id]);
    const redriven = await store.add({ ...entry, attempts: 3 });
    expect(redriven.id).not.toBe(first.id);
    expect((await store.list()).map((l) => [l.id, l.attempts])).toEqual([
      [other.id, 1],
      [redriven.id, 3],
    ]);
  });

  describeDeadLetterStoreConformance('NATS', {
    create: async () => createNatsDeadLetterStore(await connect(uniqueToken())),
  });

  // The shared suite for the idempotency record and the key store, both on JetStream KV.
  describeProcessedEventsConformance('NATS', {
    create: async () => createNatsProcessedEvents(await connect(uniqueToken())),
    createKeys: async () => createNatsIdempotencyKeyStore(await connect(uniqueToken())),
  });

  it('processed-event records on JetStream KV outlive their store: another process skips the effect', async () => {
    const ns = uniqueToken();
    const first = await createNatsProcessedEvents(await connect(ns));
    const second = await createNatsProcessedEvents(await connect(ns));
    const runs: string[] = [];

    const ran = [
      await first.once('mailer', 'e1', async () => void runs.push('first e1')),
      await second.once('mailer', 'e1', async () => void runs.push('second e1')),
      await second.once('billing', 'e1', async () => void runs.push('second billing e1')),
    ];

    expect(ran).toEqual([true, false, true]);
    expect(runs).toEqual(['first e1', 'second billing e1']);
  });

  it('idempotency keys on JetStream KV are kept until their TTL passes, and putting again extends them', async () => {
    const transport = await connect(uniqueToken());
    const keys = await createNatsIdempotencyKeyStore(transport, { maxTtlMs: 60_000 });

    await keys.put('payment/42', 60_000);
    await keys.put('e-mail ✉ 7', 1);
    await keys.put('renewed', 1);
    await keys.put('renewed', 60_000);
    await new Promise((resolve) => setTimeout(resolve, 5));

    expect([
      await keys.has('payment/42'),
      await keys.has('e-mail ✉ 7'),
      await keys.has('renewed'),
      await keys.has('never put'),
    ]).toEqual([true, false, true, false]);
    const again = await createNatsIdempotencyKeyStore(transport, { maxTtlMs: 60_000 });
    expect(await again.has('payment/42')).toBe(true);
  });

  it('idempotency keys reject a TTL beyond the bucket, an empty key and a malformed bucket name, storing nothing', async () => {
    const transport = await connect(uniqueToken());
    const keys = await createNatsIdempotencyKeyStore(transport, { maxTtlMs: 60_000 });

    const codes = [
      (await errorOf(keys.put('k', 60_001))).code,
      (await errorOf(keys.put('k', 0))).code,
      (await errorOf(keys.put('', 1000))).code,
      (await errorOf(keys.has(''))).code,
      (await errorOf(createNatsIdempotencyKeyStore(transport, { bucket: 'a.b' }))).code,
      (await errorOf(createNatsIdempotencyKeyStore(transport, { maxTtlMs: 5 }))).code,
    ];

    expect(codes).toEqual(Array(6).fill('INVALID_ARGUMENT'));
    expect(await keys.has('k')).toBe(false);
  });
});
