import { describe, expect, it } from 'vitest';
import {
  InMemoryProcessedEvents,
  createConsumer,
  createEvent,
  createInMemoryEventStore,
  createInMemoryTransport,
  replay,
  type EventHandler,
} from '../../src/index.js';
import { waitFor } from './fixtures.js';

/** A handler whose state is a map of member → cents, kept where the test can read it. */
function balances(state: Map<string, number>): EventHandler<{ member: string; cents: number }> {
  return {
    name: 'balances',
    on: ['treasury.contribution.*'],
    handle: async (e, ctx) => {
      state.set(e.data.member, (state.get(e.data.member) ?? 0) + e.data.cents);
      await ctx.publish([
        { type: 'treasury.balance.changed.v1', subject: `member-${e.data.member}`, data: {} },
      ]);
    },
  };
}

describe('replay', () => {
  it('rebuilds a handler’s state into a fresh record equal to the live one; a second replay changes nothing', async () => {
    const store = createInMemoryEventStore();
    const transport = createInMemoryTransport();
    const live = new Map<string, number>();
    const consumer = createConsumer({
      service: 'treasury',
      transport,
      handlers: [balances(live) as EventHandler],
    });
    await consumer.start();
    const events = Array.from({ length: 120 }, (_, i) =>
      createEvent({
        type: i % 10 === 0 ? 'people.member.registered.v1' : 'treasury.contribution.approved.v1',
        source: '/t',
        subject: `contribution-${i}`,
        data: { member: `m${i % 7}`, cents: 100 + i },
      }),
    );
    for (const e of events) await store.appendToStream(e.subject, [e]);
    await transport.publish(events);
    await waitFor(
      () => [...live.values()].reduce((a, b) => a + b, 0) === sumOf(events),
      5000,
      'live state',
    );
    await consumer.stop();

    const rebuilt = new Map<string, number>();
    const processed = new InMemoryProcessedEvents();
    const progress: number[] = [];
    const first = await replay({
      store,
      handler: balances(rebuilt) as EventHandler,
      processed,
      batchSize: 50,
      onProgress: (p) => progress.push(p.scanned),
    });
    expect(first).toMatchObject({
      scanned: 120,
      matched: 108,
      handled: 108,
      skipped: 0,
      failed: 0,
      suppressed: 108,
    });
    expect(progress).toEqual([50, 100, 120, 120]);
    expect(Object.fromEntries(rebuilt)).toEqual(Object.fromEntries(live));

    const second = await replay({ store, handler: balances(rebuilt) as EventHandler, processed });
    expect(second).toMatchObject({ matched: 108, handled: 0, skipped: 108 });
    expect(Object.fromEntries(rebuilt)).toEqual(Object.fromEntries(live));
  });

  it('filters by position, time, type, stream and correlation, and dry-runs', async () => {
    const store = createInMemoryEventStore();
    const root = createEvent({
      type: 'treasury.contribution.approved.v1',
      source: '/t',
      subject: 'c-1',
      data: { member: 'a', cents: 1 },
      time: '2026-01-01T00:00:00Z',
    });
    const child = createEvent({
      type: 'treasury.contribution.booked.v1',
      source: '/t',
      subject: 'c-2',
      data: { member: 'b', cents: 2 },
      parent: root,
      time: '2026-02-01T00:00:00Z',
    });
    const other = createEvent({
      type: 'treasury.contribution.approved.v1',
      source: '/t',
      subject: 'c-3',
      data: { member: 'c', cents: 4 },
      time: '2026-03-01T00:00:00Z',
    });
    for (const e of [root, child, other]) await store.appendToStream(e.subject, [e]);
    const run = async (extra: Partial<Parameters<typeof replay>[0]>) => {
      const state = new Map<string, number>();
      const result = await replay({
        store,
        handler: balances(state) as EventHandler,
        processed: new InMemoryProcessedEvents(),
        ...extra,
      });
      return { handled: result.handled, matched: result.matched, state: Object.fromEntries(state) };
    };
    expect(await run({ from: { position: '2' } })).toEqual({
      handled: 2,
      matched: 2,
      state: { b: 2, c: 4 },
    });
    expect(await run({ to: { position: '2' } })).toEqual({
      handled: 2,
      matched: 2,
      state: { a: 1, b: 2 },
    });
    expect(
      await run({
        from: { time: new Date('2026-01-15T00:00:00Z') },
        to: { time: new Date('2026-02-15T00:00:00Z') },
      }),
    ).toEqual({
      handled: 1,
      matched: 1,
      state: { b: 2 },
    });
    expect(await run({ types: ['treasury.contribution.approved.v1'] })).toEqual({
      handled: 2,
      matched: 2,
      state: { a: 1, c: 4 },
    });
    expect(await run({ stream: 'c-3' })).toEqual({ handled: 1, matched: 1, state: { c: 4 } });
    expect(await run({ correlationId: root.id })).toEqual({
      handled: 2,
      matched: 2,
      state: { a: 1, b: 2 },
    });
    expect(await run({ dryRun: true })).toEqual({ handled: 0, matched: 3, state: {} });
    await expect(run({ from: { position: 'x' } })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
  });
});

describe('replay side effects', () => {
  it('refuses follow-up appends and writes nothing to the store', async () => {
    const store = createInMemoryEventStore();
    const e = createEvent({
      type: 'treasury.contribution.approved.v1',
      source: '/t',
      subject: 'c-1',
      data: { member: 'a', cents: 1 },
    });
    await store.appendToStream('c-1', [e]);
    const result = await replay({
      store,
      processed: new InMemoryProcessedEvents(),
      handler: {
        name: 'appender',
        on: ['treasury.*'],
        handle: async (_event, ctx) => {
          await ctx.append('ledger-a', [
            { type: 'treasury.ledger.credited.v1', subject: 'ledger-a', data: {} },
          ]);
        },
      },
    });
    expect(result).toMatchObject({ handled: 0, failed: 1 });
    expect(result.failures[0]).toMatchObject({ eventId: e.id, code: 'INVALID_ARGUMENT' });
    expect(await store.headPosition()).toBe('1');
  });
});

function sumOf(
  events: ReturnType<typeof createEvent<{ member: string; cents: number }>>[],
): number {
  return events.filter((e) => e.type.startsWith('treasury.')).reduce((a, e) => a + e.data.cents, 0);
}
