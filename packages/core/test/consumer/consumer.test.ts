import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import {
  ConsumerMetrics,
  InMemoryBroker,
  InMemoryDeadLetterStore,
  createConsumer,
  createInMemoryTransport,
  defineHandler,
  type CloudEvent,
} from '../../src/index.js';
import { event, waitFor } from './fixtures.js';

const fastRetry = { initialDelayMs: 10, maxDelayMs: 100, jitter: 0 };

describe('Consumer', () => {
  it('given one poison event among 1 000, then it is dead-lettered with context after 5 attempts and other keys flow', async () => {
    const transport = createInMemoryTransport();
    const deadLetters = new InMemoryDeadLetterStore();
    const handled: string[] = [];
    let deadLetteredAfter = -1;
    const poison = event('order-poison', { poison: true });
    const good = Array.from({ length: 999 }, (_, i) => event(`order-${i % 50}`, { i }));
    const consumer = createConsumer({
      service: 'billing',
      transport,
      deadLetters,
      retry: fastRetry,
      concurrency: 4,
      handlers: [
        defineHandler<{ poison?: boolean }>({
          name: 'ledger',
          on: ['test.*'],
          handle: async (e, ctx) => {
            if (e.data.poison) {
              if (ctx.attempt === 5) deadLetteredAfter = handled.length;
              throw new TypeError(`cannot post attempt ${ctx.attempt}`);
            }
            handled.push(e.id);
          },
        }),
      ],
    });
    await transport.publish([good[0]!, poison, ...good.slice(1)]);
    await consumer.start();
    await waitFor(() => handled.length === 999 && deadLetteredAfter >= 0, 10_000, 'all handled');
    const [entry, ...rest] = await deadLetters.list();
    expect(rest).toEqual([]);
    expect(entry).toMatchObject({
      handler: 'ledger',
      group: 'billing.ledger',
      origin: 'billing.ledger',
      reason: 'exhausted',
      attempts: 5,
      event: poison,
      error: { code: 'HANDLER_FAILED', message: 'cannot post attempt 5' },
    });
    expect(entry!.error.stack).toContain('TypeError: cannot post attempt 5');
    expect(new Set(handled).size).toBe(999);
    // The poison's retries took 10+20+40+80 ms; everything else was done long before.
    expect(deadLetteredAfter).toBe(999);
    expect(consumer.metrics.registry).toBeDefined();
    await consumer.stop();
  });

  it('quarantines an event whose consumer keeps dying on it (delivery count past the budget)', async () => {
    const broker = new InMemoryBroker();
    const deadLetters = new InMemoryDeadLetterStore();
    const poison = event('order-7', { crash: true });
    await createInMemoryTransport({ broker }).publish([poison]);
    let deliveries = 0;
    // Each "process" hangs on the event until it is killed (its transport closed).
    for (let life = 1; life <= 5; life++) {
      const transport = createInMemoryTransport({ broker, drainTimeoutMs: 20 });
      const consumer = createConsumer({
        service: 'billing',
        transport,
        deadLetters,
        handlers: [
          {
            name: 'ledger',
            on: ['test.*'],
            handle: () => new Promise<void>(() => (deliveries++, undefined)),
          },
        ],
      });
      await consumer.start();
      await waitFor(() => deliveries === life, 2000, `delivery ${life}`);
      await transport.close();
    }
    const handled: CloudEvent[] = [];
    const transport = createInMemoryTransport({ broker });
    const consumer = createConsumer({
      service: 'billing',
      transport,
      deadLetters,
      handlers: [{ name: 'ledger', on: ['test.*'], handle: async (e) => void handled.push(e) }],
    });
    await consumer.start();
    await waitFor(
      () => broker.log.length === 1 && deadLettersCount(deadLetters) > 0,
      2000,
      'quarantine',
    );
    const [entry] = await deadLetters.list();
    expect(entry).toMatchObject({
      reason: 'poison',
      attempts: 6,
      error: { code: 'POISON_MESSAGE' },
      event: poison,
    });
    expect(handled).toEqual([]);
    await consumer.stop();
  });

  it('stamps follow-up events with correlation, causation and the trace, and counts metrics', async () => {
    const transport = createInMemoryTransport();
    const registry = new Registry();
    const followUps: CloudEvent[] = [];
    const consumer = createConsumer({
      service: 'treasury',
      transport,
      metrics: new ConsumerMetrics(registry),
      retry: fastRetry,
      handlers: [
        {
          name: 'approve',
          on: ['test.thing.happened.v1'],
          handle: async (e, ctx) => {
            if ((e.data as { flaky?: boolean }).flaky && ctx.attempt === 1)
              throw new Error('flaky');
            await ctx.publish([
              { type: 'test.thing.approved.v1', subject: e.subject, data: { of: e.id } },
            ]);
          },
        },
        {
          name: 'audit',
          on: ['test.thing.approved.v1'],
          handle: async (e) => void followUps.push(e),
        },
      ],
    });
    await consumer.start();
    const first = event('thing-1');
    const flaky = event('thing-2', { flaky: true });
    await transport.publish([first, flaky]);
    await waitFor(() => followUps.length === 2, 3000, 'follow-ups');
    const byCause = new Map(followUps.map((f) => [f.causationid, f]));
    for (const parent of [first, flaky]) {
      const child = byCause.get(parent.id)!;
      expect(child).toMatchObject({
        correlationid: parent.id,
        source: '/treasury',
        subject: parent.subject,
      });
      expect(child.traceparent.slice(3, 35)).toBe(parent.traceparent.slice(3, 35));
    }
    const values = async (name: string) => (await registry.getSingleMetric(name)!.get()).values;
    expect(await values('eventfabric_events_processed_total')).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ labels: { handler: 'approve', outcome: 'handled' }, value: 2 }),
        expect.objectContaining({ labels: { handler: 'approve', outcome: 'retried' }, value: 1 }),
        expect.objectContaining({ labels: { handler: 'audit', outcome: 'handled' }, value: 2 }),
      ]),
    );
    expect(await values('eventfabric_events_retried_total')).toEqual([
      expect.objectContaining({ labels: { handler: 'approve' }, value: 1 }),
    ]);
    const durations = (await values('eventfabric_handler_duration_seconds')) as {
      metricName?: string;
      labels: { handler?: string };
      value: number;
    }[];
    const count = durations.find(
      (v) =>
        v.metricName === 'eventfabric_handler_duration_seconds_count' &&
        v.labels.handler === 'approve',
    );
    expect(count?.value).toBe(3);
    await consumer.stop();
  });

  it('drains in-flight handlings on stop, and aborts them at the deadline', async () => {
    const transport = createInMemoryTransport({ drainTimeoutMs: 5000 });
    let finished = 0;
    let aborted = 0;
    const consumer = createConsumer({
      service: 'mailer',
      transport,
      concurrency: 2,
      handlers: [
        {
          name: 'send',
          on: ['test.*'],
          handle: (e, ctx) =>
            new Promise<void>((resolve, reject) => {
              const slow = (e.data as { slow?: boolean }).slow;
              const onAbort = () => {
                clearTimeout(timer);
                aborted++;
                reject(ctx.signal.reason);
              };
              const timer = setTimeout(
                () => {
                  ctx.signal.removeEventListener('abort', onAbort);
                  finished++;
                  resolve();
                },
                slow ? 60_000 : 50,
              );
              ctx.signal.addEventListener('abort', onAbort);
            }),
        },
      ],
    });
    await consumer.start();
    await transport.publish([event('mail-1'), event('mail-2', { slow: true })]);
    await new Promise((r) => setTimeout(r, 20));
    await expect(consumer.stop({ deadlineMs: 200 })).rejects.toMatchObject({
      code: 'SHUTDOWN_TIMEOUT',
      details: { inFlight: 1 },
    });
    expect([finished, aborted]).toEqual([1, 1]);
  });

  it('re-drives dead letters oldest first, holding back a key behind a failure', async () => {
    const transport = createInMemoryTransport();
    const deadLetters = new InMemoryDeadLetterStore();
    let broken = true;
    const handled: string[] = [];
    const consumer = createConsumer({
      service: 'billing',
      transport,
      deadLetters,
      retry: { maxAttempts: 1 },
      handlers: [
        {
          name: 'post',
          on: ['test.*'],
          handle: async (e) => {
            const d = e.data as { n: number; stuck?: boolean };
            if (broken || d.stuck) throw new Error(`down ${d.n}`);
            handled.push(`${e.subject}:${d.n}`);
          },
        },
      ],
    });
    await consumer.start();
    await transport.publish([
      event('a-1', { n: 1, stuck: true }),
      event('b-1', { n: 2 }),
      event('a-1', { n: 3 }),
      event('b-1', { n: 4 }),
    ]);
    await waitFor(() => deadLettersCount(deadLetters) === 4, 3000, 'four dead letters');
    broken = false;
    // Dead letters are listed in the order they were added; find each by its payload.
    const id = new Map(
      (await deadLetters.list()).map((d) => [(d.event.data as { n: number }).n, d.id]),
    );
    const result = await consumer.redrive({ handler: 'post' });
    expect(result).toEqual({
      redriven: [id.get(2), id.get(4)],
      failed: [{ id: id.get(1), code: 'HANDLER_FAILED', message: 'down 1' }],
      heldBack: [id.get(3)],
    });
    expect(handled).toEqual(['b-1:2', 'b-1:4']);
    // A dead letter of a handler this consumer does not run is reported, not passed over.
    const stranger = await deadLetters.add({
      ...(await deadLetters.get(id.get(1)!)),
      handler: 'gone',
    });
    expect((await consumer.redrive({ ids: [stranger.id] })).failed).toEqual([
      {
        id: stranger.id,
        code: 'INVALID_CONFIG',
        message: 'handler gone is not registered with this consumer',
      },
    ]);
    await deadLetters.remove([stranger.id]);
    expect((await deadLetters.list()).map((d) => d.id).sort()).toEqual(
      [id.get(1), id.get(3)].sort(),
    );
    await consumer.stop();
  });

  it('rejects bad options with INVALID_ARGUMENT', () => {
    const transport = createInMemoryTransport();
    const handle = async () => undefined;
    const bad = [
      { service: 'billing', transport, handlers: [] },
      { service: 'Billing!', transport, handlers: [{ name: 'x', on: ['a.*'], handle }] },
      { service: 'billing', transport, handlers: [{ name: 'x', on: [], handle }] },
      {
        service: 'billing',
        transport,
        handlers: [
          { name: 'x', on: ['a.*'], handle },
          { name: 'x', on: ['a.*'], handle },
        ],
      },
      {
        service: 'billing',
        transport,
        handlers: [{ name: 'x', on: ['a.*'], handle }],
        retry: { maxAttempts: -1 },
      },
    ];
    for (const options of bad) {
      expect(() => createConsumer(options as never)).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
      );
    }
  });
});

function deadLettersCount(store: InMemoryDeadLetterStore): number {
  return (store as unknown as { entries: Map<string, unknown> }).entries.size;
}
