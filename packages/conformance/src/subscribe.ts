import type { CloudEvent, EventStore } from '@eventfabric/core';
import { describe, expect } from 'vitest';
import { expectError } from './expectations.js';
import { idsOf, sleep, testEvent, testEvents } from './fixtures.js';
import { recordSubscription, waitUntil, within } from './recorder.js';
import type { ConformanceSuite } from './suite.js';

/** Append each event on its own, in order; returns their positions. */
async function appendEach(store: EventStore, events: CloudEvent[]): Promise<string[]> {
  const positions: string[] = [];
  for (const event of events) {
    positions.push((await store.appendToStream(event.subject, [event])).position);
  }
  return positions;
}

const mixed = (): CloudEvent[] => [
  testEvent('order-1', { type: 'shop.order.placed.v1' }),
  testEvent('invoice-1', { type: 'billing.invoice.issued.v1' }),
  testEvent('order-2', { type: 'shop.order.placed.v1' }),
  testEvent('order-1', { type: 'billing.order.charged.v1' }),
  testEvent('orderline-1', { type: 'shop.orderline.added.v1' }),
];

export function describeSubscribe(suite: ConformanceSuite): void {
  describe('subscribe', () => {
    suite.test(
      'subscribe catches up on existing events in position order, exactly once',
      async () => {
        const store = await suite.open();
        await appendEach(store, mixed());
        await store.appendToStream('order-3', testEvents('order-3', 3));

        const recorded = recordSubscription(store);
        await recorded.waitForCount(8);
        await store.appendToStream('marker-1', [testEvent('marker-1')]);
        await recorded.waitForCount(9);
        await recorded.subscription.stop();

        const log = await store.readAll();
        expect(idsOf(recorded.events)).toEqual(idsOf(log));
        expect(recorded.events).toEqual(log);
      },
    );

    suite.test('subscribe reports live and the last handled position once caught up', async () => {
      const store = await suite.open();
      const positions = await appendEach(store, testEvents('order-1', 3));

      const { subscription } = recordSubscription(store);
      expect(subscription.position).toBeUndefined();
      expect(subscription.live).toBe(false);

      await waitUntil(() => subscription.position === positions[2], 'the third event handled');
      await waitUntil(() => subscription.live, 'the subscription to go live');
    });

    suite.test('subscribe delivers events appended later within 2 s', async () => {
      const store = await suite.open();
      const recorded = recordSubscription(store);
      await waitUntil(() => recorded.subscription.live, 'the subscription to go live');

      const single = testEvent('order-1');
      const batch = testEvents('order-2', 2);
      const first = await store.appendToStream('order-1', [single]);
      await recorded.waitForCount(1);
      const second = await store.appendToStream('order-2', batch);
      await recorded.waitForCount(3);

      expect(idsOf(recorded.events)).toEqual(idsOf([single, ...batch]));
      expect(recorded.events.map((e) => e.position)).toEqual([first.position, ...second.positions]);
    });

    suite.test('subscribe after a checkpoint resumes without duplicates or gaps', async () => {
      const store = await suite.open();
      const events = testEvents('order-1', 5);
      const positions = await appendEach(store, events);
      const seen: string[] = [];
      const first = store.subscribe({
        handler: (event) => {
          seen.push(event.id);
          if (seen.length === 3) void first.stop();
        },
      });
      await within(first.done, 'the first subscription to stop');
      expect(seen).toEqual(idsOf(events.slice(0, 3)));
      expect(first.position).toBe(positions[2]);

      const next = testEvents('order-1', 2, { from: 5 });
      await store.appendToStream('order-1', [next[0]!]);
      const resumed = recordSubscription(store, { after: first.position });
      await resumed.waitForCount(3);
      await store.appendToStream('order-1', [next[1]!]);
      await resumed.waitForCount(4);

      expect(idsOf(resumed.events)).toEqual(idsOf([...events.slice(3), ...next]));
    });

    suite.test('subscribe after the head position delivers only new events', async () => {
      const store = await suite.open();
      await appendEach(store, testEvents('order-1', 3));

      const recorded = recordSubscription(store, { after: await store.headPosition() });
      const fresh = testEvent('order-2');
      await store.appendToStream('order-2', [fresh]);
      await recorded.waitForCount(1);
      await store.appendToStream('marker-1', [testEvent('marker-1')]);
      await recorded.waitForCount(2);

      expect(recorded.events.map((e) => e.subject)).toEqual(['order-2', 'marker-1']);
      expect(recorded.events[0]!.id).toBe(fresh.id);
    });

    suite.test('subscribe filters by type prefix and category, catching up and live', async () => {
      const store = await suite.open();
      const old = mixed();
      await appendEach(store, old);
      const filter = { typePrefixes: ['shop.', 'marker.'], categories: ['order', 'marker'] };

      const recorded = recordSubscription(store, filter);
      await recorded.waitForCount(2);
      const live = mixed();
      await appendEach(store, live);
      const marker = testEvent('marker-1', { type: 'marker.test.done.v1' });
      await store.appendToStream('marker-1', [marker]);
      await recorded.waitForCount(5);

      const expected = [old[0]!, old[2]!, live[0]!, live[2]!, marker];
      expect(idsOf(recorded.events)).toEqual(idsOf(expected));
    });

    suite.test(
      'subscribe catches up in batches of batchSize, with and without a filter',
      async () => {
        const store = await suite.open();
        const events = [
          ...testEvents('order-1', 3),
          testEvent('invoice-1'),
          ...testEvents('order-1', 3, { from: 3 }),
          testEvent('invoice-2'),
        ];
        await appendEach(store, events);

        const all = recordSubscription(store, { batchSize: 2 });
        const invoices = recordSubscription(store, { batchSize: 1, categories: ['invoice'] });
        await all.waitForCount(8);
        await invoices.waitForCount(2);
        const live = testEvent('invoice-3');
        await store.appendToStream('invoice-3', [live]);
        await invoices.waitForCount(3);
        await all.waitForCount(9);

        expect(idsOf(all.events)).toEqual(idsOf([...events, live]));
        expect(idsOf(invoices.events)).toEqual(idsOf([events[3]!, events[7]!, live]));
      },
    );

    suite.test('the handler is called one event at a time, in position order', async () => {
      const store = await suite.open();
      await appendEach(store, testEvents('order-1', 5));
      let active = 0;
      let mostActive = 0;
      const recorded = recordSubscription(store, {
        handle: async () => {
          mostActive = Math.max(mostActive, ++active);
          await sleep(1);
          active -= 1;
        },
      });

      await Promise.all(
        Array.from({ length: 5 }, (_, i) =>
          store.appendToStream(`order-${i + 2}`, [testEvent(`order-${i + 2}`)]),
        ),
      );
      await recorded.waitForCount(10);

      expect(mostActive).toBe(1);
      expect(idsOf(recorded.events)).toEqual(idsOf(await store.readAll()));
    });

    suite.test('a throwing handler fails the subscription at the last handled event', async () => {
      const store = await suite.open();
      const events = testEvents('order-1', 3);
      const positions = await appendEach(store, events);
      const boom = new Error('handler failed');
      const recorded = recordSubscription(store, {
        handle: (event) => {
          if (event.id === events[1]!.id) throw boom;
        },
      });

      const error = await expectError(recorded.subscription.done, 'SUBSCRIPTION_FAILED', {
        eventId: events[1]!.id,
        position: positions[1],
      });

      expect(error.cause).toBe(boom);
      expect(recorded.subscription.position).toBe(positions[0]);
      await store.appendToStream('order-1', [testEvent('order-1')]);
      const witness = recordSubscription(store);
      await witness.waitForCount(4);
      expect(idsOf(recorded.events)).toEqual(idsOf(events.slice(0, 2)));
    });

    suite.test('a rejecting handler fails the subscription before its first event', async () => {
      const store = await suite.open();
      const events = testEvents('order-1', 2);
      const positions = await appendEach(store, events);
      const boom = new Error('handler rejected');
      const recorded = recordSubscription(store, { handle: async () => Promise.reject(boom) });

      const error = await expectError(recorded.subscription.done, 'SUBSCRIPTION_FAILED', {
        eventId: events[0]!.id,
        position: positions[0],
      });

      expect(error.cause).toBe(boom);
      expect(recorded.subscription.position).toBeUndefined();
      expect(idsOf(recorded.events)).toEqual([events[0]!.id]);
    });

    suite.test('stop() lets the event in hand finish, then delivers no more', async () => {
      const store = await suite.open();
      const events = testEvents('order-1', 3);
      const positions = await appendEach(store, events);
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const recorded = recordSubscription(store, {
        handle: (event) => (event.id === events[0]!.id ? gate : undefined),
      });
      await recorded.waitForCount(1);

      let stopped = false;
      const stopping = recorded.subscription.stop().then(() => (stopped = true));
      await sleep(20);
      expect(stopped).toBe(false);
      release();
      await within(stopping, 'stop() to resolve');

      expect(recorded.subscription.position).toBe(positions[0]);
      expect(idsOf(recorded.events)).toEqual([events[0]!.id]);
      await expect(recorded.subscription.done).resolves.toBeUndefined();
    });

    suite.test('stop() is idempotent and done resolves', async () => {
      const store = await suite.open();
      const recorded = recordSubscription(store);
      await waitUntil(() => recorded.subscription.live, 'the subscription to go live');

      await Promise.all([recorded.subscription.stop(), recorded.subscription.stop()]);
      await recorded.subscription.stop();

      await expect(recorded.subscription.done).resolves.toBeUndefined();
      await store.appendToStream('order-1', [testEvent('order-1')]);
      const witness = recordSubscription(store);
      await witness.waitForCount(1);
      expect(recorded.events).toEqual([]);
    });

    suite.test('closing the store stops its subscriptions', async () => {
      const store = await suite.open();
      await store.appendToStream('order-1', [testEvent('order-1')]);
      const recorded = recordSubscription(store);
      await recorded.waitForCount(1);

      await store.close();

      await expect(within(recorded.subscription.done, 'done')).resolves.toBeUndefined();
    });

    suite.test('several subscribers each receive every event', async () => {
      const store = await suite.open();
      await appendEach(store, mixed());
      const subscribers = [recordSubscription(store), recordSubscription(store)];
      await appendEach(store, mixed());

      await Promise.all(subscribers.map((s) => s.waitForCount(10)));

      const ids = idsOf(await store.readAll());
      expect(subscribers.map((s) => idsOf(s.events))).toEqual([ids, ids]);
    });
  });
}
