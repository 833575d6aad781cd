import { describe, expect } from 'vitest';
import { expectError } from './expectations.js';
import { idsOf, testEvent, testEvents } from './fixtures.js';
import { recordSubscription, waitUntil } from './recorder.js';
import type { ConformanceSuite } from './suite.js';

export function describeMultiProcess(suite: ConformanceSuite): void {
  describe('several handles on one store', () => {
    suite.test(
      'of 20 concurrent appends through two handles expecting one version exactly one succeeds',
      async () => {
        const store = await suite.open();
        const other = await suite.reopen(store);
        const first = testEvent('order-1');
        await store.appendToStream('order-1', [first]);
        const events = Array.from({ length: 20 }, () => testEvent('order-1'));

        const outcomes = await Promise.allSettled(
          events.map((event, i) =>
            (i % 2 === 0 ? store : other).appendToStream('order-1', [event], {
              expectedVersion: 0,
            }),
          ),
        );

        const winners = outcomes.flatMap((o, i) => (o.status === 'fulfilled' ? [i] : []));
        expect(winners).toHaveLength(1);
        for (const outcome of outcomes.filter((o) => o.status === 'rejected')) {
          await expectError(Promise.reject(outcome.reason), 'WRONG_EXPECTED_VERSION', {
            streamId: 'order-1',
            expected: 0,
            actual: 1,
          });
        }
        const stream = await other.readStream('order-1');
        expect(idsOf(stream)).toEqual([first.id, events[winners[0]!]!.id]);
      },
      'multiProcess',
    );

    suite.test(
      'a subscriber on one handle receives appends made through another within 2 s',
      async () => {
        const store = await suite.open();
        const other = await suite.reopen(store);
        const recorded = recordSubscription(store);
        await waitUntil(() => recorded.subscription.live, 'the subscription to go live');

        const events = testEvents('order-1', 3);
        await other.appendToStream('order-1', events.slice(0, 2));
        await recorded.waitForCount(2);
        await other.appendToStream('order-1', events.slice(2));
        await recorded.waitForCount(3);

        expect(idsOf(recorded.events)).toEqual(idsOf(events));
      },
      'multiProcess',
    );

    suite.test(
      'an event stored through one handle is deduplicated through another',
      async () => {
        const store = await suite.open();
        const other = await suite.reopen(store);
        const events = testEvents('order-1', 2);
        const original = await store.appendToStream('order-1', events);

        const retry = await other.appendToStream('order-1', events, {
          expectedVersion: 'no_stream',
        });

        expect(retry).toEqual({ ...original, deduplicated: true });
        expect(idsOf(await other.readAll())).toEqual(idsOf(events));
      },
      'multiProcess',
    );
  });
}
