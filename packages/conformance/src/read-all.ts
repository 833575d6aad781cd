import type { EventStore, ReadAllOptions } from '@eventfabric/core';
import { describe, expect } from 'vitest';
import { expectIncreasingPositions } from './expectations.js';
import { idsOf, testEvent, testEvents } from './fixtures.js';
import type { ConformanceSuite } from './suite.js';

/** The log every `$all` test reads, in append order: a name, its stream and its type. */
const LOG = [
  ['placed1', 'order-1', 'shop.order.placed.v1'],
  ['invoice', 'invoice-7', 'billing.invoice.issued.v1'],
  ['placed2', 'order-2', 'shop.order.placed.v1'],
  ['paid1', 'order-1', 'shop.order.paid.v1'],
  ['audit', 'audit', 'ops.audit.logged.v1'],
  ['line', 'orderline-1', 'shop.orderline.added.v1'],
  ['placed3', 'order-3-b', 'shop.order.placed.v1'],
  ['payment', 'payment-9', 'billing.payment.received.v1'],
] as const;

type Name = (typeof LOG)[number][0];

interface SeededLog {
  ids: Record<Name, string>;
  positions: Record<Name, string>;
}

async function seedLog(store: EventStore): Promise<SeededLog> {
  const seeded = { ids: {}, positions: {} } as SeededLog;
  for (const [name, streamId, type] of LOG) {
    const event = testEvent(streamId, { type });
    seeded.ids[name] = event.id;
    seeded.positions[name] = (await store.appendToStream(streamId, [event])).position;
  }
  return seeded;
}

/** Each read of the seeded log, and the events it must return, in order. */
const READS: Array<{
  name: string;
  options: (log: SeededLog) => ReadAllOptions;
  expected: Name[];
}> = [
  {
    name: 'after a position starts just after it',
    options: (log) => ({ after: log.positions.placed2 }),
    expected: ['paid1', 'audit', 'line', 'placed3', 'payment'],
  },
  {
    name: 'after "0" starts at the beginning',
    options: () => ({ after: '0' }),
    expected: LOG.map(([name]) => name),
  },
  {
    name: 'after the head position is empty',
    options: (log) => ({ after: log.positions.payment }),
    expected: [],
  },
  {
    name: 'with a limit',
    options: () => ({ limit: 3 }),
    expected: ['placed1', 'invoice', 'placed2'],
  },
  {
    name: 'by one type prefix',
    options: () => ({ typePrefixes: ['shop.order.'] }),
    expected: ['placed1', 'placed2', 'paid1', 'placed3'],
  },
  {
    name: 'by several type prefixes, any of them',
    options: () => ({ typePrefixes: ['billing.invoice.', 'ops.'] }),
    expected: ['invoice', 'audit'],
  },
  {
    name: 'by a full type name',
    options: () => ({ typePrefixes: ['shop.order.paid.v1'] }),
    expected: ['paid1'],
  },
  {
    name: 'by category, the stream id before its first "-"',
    options: () => ({ categories: ['order'] }),
    expected: ['placed1', 'placed2', 'paid1', 'placed3'],
  },
  {
    name: 'by several categories, any of them',
    options: () => ({ categories: ['invoice', 'audit'] }),
    expected: ['invoice', 'audit'],
  },
  {
    name: 'by type prefix and category, both at once',
    options: () => ({ typePrefixes: ['billing.'], categories: ['order', 'invoice'] }),
    expected: ['invoice'],
  },
  {
    name: 'by type prefix and category with after and limit',
    options: (log) => ({
      typePrefixes: ['shop.order.placed', 'shop.orderline.'],
      categories: ['order', 'orderline'],
      after: log.positions.placed1,
      limit: 2,
    }),
    expected: ['placed2', 'line'],
  },
];

export function describeReadAll(suite: ConformanceSuite): void {
  describe('read $all', () => {
    suite.test('readAll from the start returns every event in position order', async () => {
      const store = await suite.open();
      const log = await seedLog(store);

      const events = await store.readAll();

      expect(idsOf(events)).toEqual(LOG.map(([name]) => log.ids[name]));
      expect(events.map((e) => e.position)).toEqual(LOG.map(([name]) => log.positions[name]));
      expect(events.map((e) => e.subject)).toEqual(LOG.map(([, streamId]) => streamId));
      expect(events.map((e) => e.streamversion)).toEqual([0, 0, 0, 1, 0, 0, 0, 0]);
      expectIncreasingPositions(events.map((e) => e.position));
    });

    for (const { name, options, expected } of READS) {
      suite.test(`readAll ${name}`, async () => {
        const store = await suite.open();
        const log = await seedLog(store);

        const events = await store.readAll(options(log));

        expect(idsOf(events)).toEqual(expected.map((n) => log.ids[n]));
        expect(events.map((e) => e.position)).toEqual(expected.map((n) => log.positions[n]));
      });
    }

    suite.test('readAll pages through the log with after and limit', async () => {
      const store = await suite.open();
      const log = await seedLog(store);

      const pages: string[][] = [];
      let after: string | undefined;
      // Bounded, so a store whose `after` is not exclusive fails instead of looping forever.
      for (let page = await store.readAll({ limit: 3 }); page.length > 0 && pages.length < 5;) {
        pages.push(idsOf(page));
        after = page.at(-1)!.position;
        page = await store.readAll({ after, limit: 3 });
      }

      const ids = LOG.map(([name]) => log.ids[name]);
      expect(pages).toEqual([ids.slice(0, 3), ids.slice(3, 6), ids.slice(6)]);
      expect(after).toBe(await store.headPosition());
    });

    suite.test('readAll of an empty store is empty', async () => {
      const store = await suite.open();
      expect(await store.readAll()).toEqual([]);
      expect(await store.readAll({ after: '0', categories: ['order'] })).toEqual([]);
    });

    suite.test('readAll returns at most 1000 events by default', async () => {
      const store = await suite.open();
      const events = testEvents('bulk-1', 1001);
      const result = await store.appendToStream('bulk-1', events);

      const page = await store.readAll();

      expect(idsOf(page)).toEqual(idsOf(events.slice(0, 1000)));
      const rest = await store.readAll({ after: page.at(-1)!.position });
      expect(idsOf(rest)).toEqual([events[1000]!.id]);
      expect(rest[0]!.position).toBe(result.position);
    });
  });
}
