import type { AggregateStreamOptions } from '@eventfabric/core';
import { describe, expect } from 'vitest';
import { expectError, expectIncreasingPositions, readWholeLog } from './expectations.js';
import { idsOf, testEvent, testEvents } from './fixtures.js';
import { recordSubscription } from './recorder.js';
import type { ConformanceSuite } from './suite.js';

const counter: AggregateStreamOptions<number> = {
  initial: () => 0,
  evolve: (count) => count + 1,
  snapshot: 'count@1',
};

export function describeDurability(suite: ConformanceSuite): void {
  describe('durability across reopen', () => {
    suite.test(
      'events, versions and the head survive close and reopen',
      async () => {
        const store = await suite.open();
        const events = [...testEvents('order-1', 3), testEvent('invoice-1')];
        await store.appendToStream('order-1', events.slice(0, 3));
        await store.appendToStream('invoice-1', events.slice(3));
        const log = await readWholeLog(store);
        const head = await store.headPosition();
        await store.close();

        const reopened = await suite.reopen(store);

        expect(await readWholeLog(reopened)).toEqual(log);
        expect(idsOf(log)).toEqual(idsOf(events));
        expect(await reopened.headPosition()).toBe(head);
        expect(await reopened.streamVersion('order-1')).toBe(2);
        expect(await reopened.readByCorrelation(events[3]!.id)).toEqual(log.slice(3));
      },
      'durableAcrossReopen',
    );

    suite.test(
      'appends after reopen continue versions and positions',
      async () => {
        const store = await suite.open();
        const first = await store.appendToStream('order-1', testEvents('order-1', 2));
        await store.close();
        const reopened = await suite.reopen(store);

        await expectError(
          reopened.appendToStream('order-1', [testEvent('order-1')], { expectedVersion: 0 }),
          'WRONG_EXPECTED_VERSION',
          { streamId: 'order-1', expected: 0, actual: 1 },
        );
        const next = await reopened.appendToStream('order-1', [testEvent('order-1')], {
          expectedVersion: 1,
        });

        expect(next.streamVersion).toBe(2);
        expectIncreasingPositions([...first.positions, ...next.positions]);
      },
      'durableAcrossReopen',
    );

    suite.test(
      'a retry after reopen is deduplicated',
      async () => {
        const store = await suite.open();
        const events = testEvents('order-1', 2);
        const original = await store.appendToStream('order-1', events);
        await store.close();
        const reopened = await suite.reopen(store);

        const retry = await reopened.appendToStream('order-1', events, {
          expectedVersion: 'no_stream',
        });

        expect(retry).toEqual({ ...original, deduplicated: true });
        expect(await reopened.headPosition()).toBe(original.position);
      },
      'durableAcrossReopen',
    );

    suite.test(
      'snapshots survive reopen',
      async () => {
        const store = await suite.open({ snapshotEvery: 2 });
        await store.appendToStream('order-1', testEvents('order-1', 3));
        expect(await store.aggregateStream('order-1', counter)).toMatchObject({ state: 3 });
        await store.close();
        const reopened = await suite.reopen(store);

        const result = await reopened.aggregateStream('order-1', counter);

        expect(result).toEqual({ state: 3, streamVersion: 2, fromSnapshot: true });
      },
      'durableAcrossReopen',
    );

    suite.test(
      'a subscription resumes from its checkpoint after reopen',
      async () => {
        const store = await suite.open();
        const events = testEvents('order-1', 4);
        await store.appendToStream('order-1', events.slice(0, 2));
        const before = recordSubscription(store);
        await before.waitForCount(2);
        await before.subscription.stop();
        await store.close();
        const reopened = await suite.reopen(store);
        await reopened.appendToStream('order-1', events.slice(2, 3));

        const after = recordSubscription(reopened, { after: before.subscription.position });
        await after.waitForCount(1);
        await reopened.appendToStream('order-1', events.slice(3));
        await after.waitForCount(2);

        expect(idsOf([...before.events, ...after.events])).toEqual(idsOf(events));
      },
      'durableAcrossReopen',
    );
  });
}
