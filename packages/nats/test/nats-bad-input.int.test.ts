import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createConnection } from 'node:net';
import { createEvent, EventFabricError, type CloudEvent } from '@eventfabric/core';
import { afterAll, afterEach, expect, it } from 'vitest';
import {
  createNatsDeadLetterStore,
  createNatsIdempotencyKeyStore,
  createNatsProcessedEvents,
  createNatsTransport,
  inspectNatsTopology,
  type NatsTransport,
  type NatsTransportOptions,
} from '../src/index.js';
import { deleteStreams, describeWithNats, TEST_NATS_URL, uniqueToken } from './nats-available.js';

const prefixes = new Set<string>();
const opened: NatsTransport[] = [];

async function connect(ns: string): Promise<NatsTransport> {
  prefixes.add(`${ns}_`);
  prefixes.add(`KV_${ns}_`);
  const transport = await createNatsTransport({
    servers: TEST_NATS_URL,
    namePrefix: `${ns}_`,
    subjectPrefix: ns,
    partitions: 2,
  });
  opened.push(transport);
  return transport;
}

async function errorOf(work: () => Promise<unknown>): Promise<EventFabricError> {
  const error = await work().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, 'the call should have failed').toBeInstanceOf(EventFabricError);
  return error as EventFabricError;
}

function event(type: string, subject: string, data: unknown = {}): CloudEvent {
  return createEvent({ type, source: '/bad-input-test', subject, data });
}

/** Names of the streams on the server that belong to `ns`. */
async function streamsOf(transport: NatsTransport, ns: string): Promise<string[]> {
  const names: string[] = [];
  for await (const name of transport.jsm.streams.names()) {
    if (name.startsWith(`${ns}_`)) names.push(name);
  }
  return names.sort();
}

/** A witness group on `orders.*` that records what it is handed. */
async function witness(transport: NatsTransport): Promise<string[]> {
  const handled: string[] = [];
  await transport.subscribe(
    'orders.witness',
    async (delivery) => {
      handled.push(delivery.event.id);
      await delivery.ack();
    },
    { topics: ['orders.*'] },
  );
  return handled;
}

describeWithNats('NATS transport bad input', () => {
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((t) => t.close()));
  });
  afterAll(() => deleteStreams(prefixes));

  it('malformed options are rejected with INVALID_CONFIG naming the option, before any connection', async () => {
    const cases: [unknown, string][] = [
      [undefined, 'options'],
      [{}, 'servers'],
      [{ servers: '' }, 'servers'],
      [{ servers: [] }, 'servers'],
      [{ servers: ['nats://a b:4222'] }, 'servers'],
      [{ servers: 4222 }, 'servers'],
      [{ servers: TEST_NATS_URL, partitions: 0 }, 'partitions'],
      [{ servers: TEST_NATS_URL, partitions: 1.5 }, 'partitions'],
      [{ servers: TEST_NATS_URL, partitions: '16' }, 'partitions'],
      [{ servers: TEST_NATS_URL, partitions: 1025 }, 'partitions'],
      [{ servers: TEST_NATS_URL, subjectPrefix: 'a..b' }, 'subjectPrefix'],
      [{ servers: TEST_NATS_URL, subjectPrefix: 'a.>' }, 'subjectPrefix'],
      [{ servers: TEST_NATS_URL, namePrefix: 'a.b' }, 'namePrefix'],
      [{ servers: TEST_NATS_URL, stream: 'file' }, 'stream'],
      [{ servers: TEST_NATS_URL, stream: { storage: 'disk' } }, 'storage'],
      [{ servers: TEST_NATS_URL, stream: { replicas: 6 } }, 'stream.replicas'],
      [{ servers: TEST_NATS_URL, stream: { maxAgeMs: -1 } }, 'stream.maxAgeMs'],
      [{ servers: TEST_NATS_URL, stream: { maxBytes: -2 } }, 'stream.maxBytes'],
      [
        { servers: TEST_NATS_URL, stream: { maxAgeMs: 1000, duplicateWindowMs: 2000 } },
        'stream.duplicateWindowMs',
      ],
      [{ servers: TEST_NATS_URL, consumer: { ackWaitMs: 10 } }, 'consumer.ackWaitMs'],
      [{ servers: TEST_NATS_URL, consumer: { maxDeliver: 0 } }, 'consumer.maxDeliver'],
      [{ servers: TEST_NATS_URL, mode: 'text' }, 'mode'],
      [{ servers: TEST_NATS_URL, publishTimeoutMs: 0 }, 'publishTimeoutMs'],
      [{ servers: TEST_NATS_URL, drainTimeoutMs: Number.NaN }, 'drainTimeoutMs'],
      [{ servers: TEST_NATS_URL, logger: { info: () => undefined } }, 'logger'],
    ];

    const outcomes = [];
    for (const [options] of cases) {
      const error = await errorOf(() => createNatsTransport(options as NatsTransportOptions));
      outcomes.push([error.code, Object.keys(error.details)[0]]);
    }

    expect(outcomes).toEqual(cases.map(([, name]) => ['INVALID_CONFIG', name]));
  });

  it('a server that does not answer fails with a retryable TRANSPORT_UNAVAILABLE', async () => {
    const error = await errorOf(() => createNatsTransport({ servers: 'nats://127.0.0.1:1' }));

    expect(error.code).toBe('TRANSPORT_UNAVAILABLE');
    expect(error.details).toEqual({ retryable: true, servers: ['nats://127.0.0.1:1'] });
  });

  it('a server without JetStream fails with a retryable TRANSPORT_UNAVAILABLE that says so', async () => {
    // A second nats-server of our own, without -js, on a free port.
    const port = 14_000 + Math.floor(Math.random() * 1000);
    const server = spawn('/usr/sbin/nats-server', ['-a', '127.0.0.1', '-p', String(port)], {
      stdio: 'ignore',
    });
    try {
      const deadline = Date.now() + 10_000;
      while (
        !(await new Promise<boolean>((resolve) => {
          const socket = createConnection({ host: '127.0.0.1', port });
          socket.once('connect', () => (socket.destroy(), resolve(true)));
          socket.once('error', () => resolve(false));
        }))
      ) {
        if (Date.now() > deadline) throw new Error(`nats-server did not open port ${port}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }

      const error = await errorOf(() =>
        createNatsTransport({ servers: `nats://127.0.0.1:${port}` }),
      );

      expect(error.code).toBe('TRANSPORT_UNAVAILABLE');
      expect(error.message).toContain('has no JetStream');
      expect(error.details).toEqual({ retryable: true, servers: [`nats://127.0.0.1:${port}`] });
    } finally {
      const exited = once(server, 'exit');
      server.kill('SIGTERM');
      await exited;
    }
  });

  it('a batch with one malformed event, one whose type cannot be a subject, or one over max_payload publishes nothing', async () => {
    const ns = uniqueToken();
    const transport = await connect(ns);
    const handled = await witness(transport);
    const good = event('orders.order.placed.v1', 'order-1');
    const maxPayload = transport.nc.info!.max_payload;
    const batches: [CloudEvent[], string][] = [
      [[good, { ...event('orders.order.placed.v1', 'order-2'), source: '' }], 'INVALID_EVENT'],
      [
        [good, { ...event('orders.order.placed.v1', 'order-2'), specversion: '0.3' as '1.0' }],
        'INVALID_EVENT',
      ],
      [
        [
          good,
          { ...event('orders.order.placed.v1', 'order-2'), type: 'orders.order>all.placed.v1' },
        ],
        'INVALID_ARGUMENT',
      ],
      [
        [good, { ...event('orders.order.placed.v1', 'order-2'), type: 'orders.order placed.v1' }],
        'INVALID_ARGUMENT',
      ],
      [
        [good, { ...event('orders.order.placed.v1', 'order-2'), type: 'orders..placed.v1' }],
        'INVALID_ARGUMENT',
      ],
      [
        [good, event('orders.order.placed.v1', 'order-2', 'x'.repeat(maxPayload))],
        'EVENT_TOO_LARGE',
      ],
      // A new context: its stream must not be declared either.
      [[event('payments.payment.taken.v1', 'pay-1'), { ...good, id: '' }], 'INVALID_EVENT'],
    ];

    const codes = [];
    for (const [batch] of batches) codes.push((await errorOf(() => transport.publish(batch))).code);
    await transport.publish([good]);
    await new Promise((resolve) => setTimeout(resolve, 200));

    expect(codes).toEqual(batches.map(([, code]) => code));
    expect(handled).toEqual([good.id]);
    expect((await transport.jsm.streams.info(`${ns}_orders_events`)).state.messages).toBe(1);
    expect(await streamsOf(transport, ns)).toEqual([
      `${ns}_orders_events`,
      `${ns}_orders_witness_dlq`,
    ]);
  });

  it('an oversize event reports its size and the server limit', async () => {
    const ns = uniqueToken();
    const transport = await connect(ns);
    const big = event('orders.order.placed.v1', 'order-1', 'x'.repeat(2_000_000));

    const error = await errorOf(() => transport.publish([big]));

    expect(error.code).toBe('EVENT_TOO_LARGE');
    expect(error.details).toMatchObject({ eventId: big.id, limit: transport.nc.info!.max_payload });
    expect(error.details.size).toBeGreaterThan(2_000_000);
    expect(await streamsOf(transport, ns)).toEqual([]);
  });

  it('subscribing with a pattern that does not name its context is rejected with INVALID_ARGUMENT, and nothing is declared', async () => {
    const ns = uniqueToken();
    const transport = await connect(ns);
    const topicsList = [['*'], ['*.order.placed.v1'], ['orders.*', '*.x']];

    const codes = [];
    for (const topics of topicsList) {
      codes.push(
        (await errorOf(() => transport.subscribe('orders.any', async (d) => d.ack(), { topics })))
          .code,
      );
    }

    expect(codes).toEqual(['INVALID_ARGUMENT', 'INVALID_ARGUMENT', 'INVALID_ARGUMENT']);
    expect(await streamsOf(transport, ns)).toEqual([]);
  });

  it('the stores refuse something that is not a transport, and a closed one, with their codes', async () => {
    const ns = uniqueToken();
    const transport = await connect(ns);
    const keys = await createNatsIdempotencyKeyStore(transport);
    const letters = await createNatsDeadLetterStore(transport);
    const processed = await createNatsProcessedEvents(transport);
    const effects: string[] = [];
    const bad = [
      (await errorOf(() => processed.once('', 'e1', async () => void effects.push('e1')))).code,
      (await errorOf(() => processed.has('h', ''))).code,
      (await errorOf(() => createNatsProcessedEvents(transport, { ttlMs: 10 }))).code,
    ];
    await transport.close();

    const codes = [
      (await errorOf(() => createNatsDeadLetterStore({} as NatsTransport))).code,
      (await errorOf(() => createNatsIdempotencyKeyStore(undefined as unknown as NatsTransport)))
        .code,
      (await errorOf(() => createNatsDeadLetterStore(transport))).code,
      (await errorOf(() => createNatsIdempotencyKeyStore(transport))).code,
      (await errorOf(() => keys.has('k'))).code,
      (await errorOf(() => keys.put('k', 1000))).code,
      (await errorOf(() => letters.list())).code,
      (await errorOf(() => letters.get('x'))).code,
      (await errorOf(() => processed.once('h', 'e2', async () => void effects.push('e2')))).code,
    ];

    expect(codes).toEqual([
      'INVALID_ARGUMENT',
      'INVALID_ARGUMENT',
      'STORE_CLOSED',
      'STORE_CLOSED',
      'STORE_CLOSED',
      'STORE_CLOSED',
      'STORE_CLOSED',
      'STORE_CLOSED',
      'STORE_CLOSED',
    ]);
    expect(bad).toEqual(['INVALID_ARGUMENT', 'INVALID_ARGUMENT', 'INVALID_ARGUMENT']);
    expect(effects).toEqual([]);
  });

  it('a dead letter with a malformed group or no event is rejected with INVALID_ARGUMENT, and nothing is written', async () => {
    const ns = uniqueToken();
    const transport = await connect(ns);
    const letters = await createNatsDeadLetterStore(transport);
    const good = {
      handler: 'billing',
      group: 'orders.billing',
      origin: 'orders.events',
      reason: 'exhausted' as const,
      event: event('orders.order.placed.v1', 'order-1'),
      error: { code: 'HANDLER_FAILED', message: 'no' },
      attempts: 5,
      firstFailedAt: '2026-11-23T10:00:00.000Z',
      lastFailedAt: '2026-11-23T10:00:05.000Z',
    };
    const bad = [
      { ...good, group: 'Orders billing' },
      { ...good, group: 'nodot' },
      { ...good, group: undefined },
      { ...good, event: undefined },
      { ...good, event: { ...good.event, id: '' } },
    ];

    const codes = [];
    for (const entry of bad) {
      codes.push((await errorOf(() => letters.add(entry as unknown as typeof good))).code);
    }

    expect(codes).toEqual(bad.map(() => 'INVALID_ARGUMENT'));
    expect(await letters.list()).toEqual([]);
    expect(await streamsOf(transport, ns)).toEqual([]);
  });

  it('inspecting the topology with malformed options or an unreachable server fails with INVALID_CONFIG or TRANSPORT_UNAVAILABLE', async () => {
    const codes = [
      (await errorOf(() => inspectNatsTopology({ servers: [] }))).code,
      (await errorOf(() => inspectNatsTopology({ servers: TEST_NATS_URL, namePrefix: 'a.b' })))
        .code,
      (await errorOf(() => inspectNatsTopology({ servers: 'nats://127.0.0.1:1' }))).code,
    ];

    expect(codes).toEqual(['INVALID_CONFIG', 'INVALID_CONFIG', 'TRANSPORT_UNAVAILABLE']);
    const empty = await inspectNatsTopology({
      servers: TEST_NATS_URL,
      namePrefix: `${uniqueToken()}_`,
    });
    expect(empty).toEqual({ streams: [], consumers: [], deadLetters: [], messages: {} });
  });
});
