import type { AggregateStreamOptions, EventStore, StoredEvent } from '@eventfabric/core';
import { describe, expect } from 'vitest';
import { expectError } from './expectations.js';
import { sleep, testEvent } from './fixtures.js';
import type { ConformanceSuite } from './suite.js';

/** The state every aggregate test folds: a count, a sum of `amount`, the versions seen. */
interface Tally {
  count: number;
  total: number;
  versions: number[];
}

const amountOf = (event: StoredEvent): number => (event.data as { amount: number }).amount;

const tally: Pick<AggregateStreamOptions<Tally>, 'initial' | 'evolve'> = {
  initial: () => ({ count: 0, total: 0, versions: [] }),
  evolve: (state, event) => ({
    count: state.count + 1,
    total: state.total + amountOf(event),
    versions: [...state.versions, event.streamversion],
  }),
};

/** The state after folding `order-1` events with amounts 1..n at versions 0..n-1. */
function tallyOf(n: number): Tally {
  const versions = Array.from({ length: n }, (_, i) => i);
  return { count: n, total: versions.reduce((sum, v) => sum + v + 1, 0), versions };
}

/** Append events to `order-1` with the next amounts, one per append, each after an event of `order-2`. */
async function grow(store: EventStore, count: number): Promise<string[]> {
  const positions: string[] = [];
  for (let i = 0; i < count; i++) {
    await store.appendToStream('order-2', [testEvent('order-2', { data: { amount: 100 } })]);
    const amount = (await store.streamVersion('order-1')) + 2;
    const result = await store.appendToStream('order-1', [
      testEvent('order-1', { data: { amount } }),
    ]);
    positions.push(result.position);
  }
  return positions;
}

export function describeAggregate(suite: ConformanceSuite): void {
  describe('aggregate stream', () => {
    suite.test('aggregateStream folds every event of the stream in order', async () => {
      const store = await suite.open();
      await grow(store, 4);

      const result = await store.aggregateStream('order-1', tally);

      expect(result).toEqual({ state: tallyOf(4), streamVersion: 3, fromSnapshot: false });
    });

    suite.test(
      'aggregateStream of a missing stream is the initial state at version -1',
      async () => {
        const store = await suite.open();
        await grow(store, 1);

        const result = await store.aggregateStream('order-3', { ...tally, snapshot: 'tally@1' });

        expect(result).toEqual({ state: tallyOf(0), streamVersion: -1, fromSnapshot: false });
      },
    );

    suite.test(
      'a named snapshot is taken after snapshotEvery events and used next time',
      async () => {
        const store = await suite.open({ snapshotEvery: 3 });
        await grow(store, 4);
        const options = { ...tally, snapshot: 'tally@1' };

        const first = await store.aggregateStream('order-1', options);
        const unchanged = await store.aggregateStream('order-1', options);
        await grow(store, 2);
        const later = await store.aggregateStream('order-1', options);

        expect(first).toEqual({ state: tallyOf(4), streamVersion: 3, fromSnapshot: false });
        expect(unchanged).toEqual({ state: tallyOf(4), streamVersion: 3, fromSnapshot: true });
        expect(later).toEqual({ state: tallyOf(6), streamVersion: 5, fromSnapshot: true });
        expect(await store.aggregateStream('order-1', tally)).toEqual({
          state: tallyOf(6),
          streamVersion: 5,
          fromSnapshot: false,
        });
      },
    );

    suite.test('no snapshot is taken before snapshotEvery events', async () => {
      const store = await suite.open({ snapshotEvery: 3 });
      await grow(store, 2);
      const options = { ...tally, snapshot: 'tally@1' };

      const results = [
        await store.aggregateStream('order-1', options),
        await store.aggregateStream('order-1', options),
      ];

      expect(results).toEqual(
        Array(2).fill({ state: tallyOf(2), streamVersion: 1, fromSnapshot: false }),
      );
    });

    suite.test('without a snapshot name a fold never starts from a snapshot', async () => {
      const store = await suite.open({ snapshotEvery: 2 });
      await grow(store, 6);

      const results = [
        await store.aggregateStream('order-1', tally),
        await store.aggregateStream('order-1', tally),
      ];

      expect(results).toEqual(
        Array(2).fill({ state: tallyOf(6), streamVersion: 5, fromSnapshot: false }),
      );
    });

    suite.test('snapshots are kept per stream and per name', async () => {
      const store = await suite.open({ snapshotEvery: 2 });
      await grow(store, 3);
      await store.aggregateStream('order-1', { ...tally, snapshot: 'tally@1' });

      const otherName = await store.aggregateStream('order-1', { ...tally, snapshot: 'tally@2' });
      const otherStream = await store.aggregateStream('order-2', { ...tally, snapshot: 'tally@1' });

      expect(otherName).toEqual({ state: tallyOf(3), streamVersion: 2, fromSnapshot: false });
      expect(otherStream).toMatchObject({ streamVersion: 2, fromSnapshot: false });
      expect(otherStream.state.total).toBe(300);
    });

    suite.test(
      'a snapshot is not changed by a fold or a caller that mutates the state',
      async () => {
        const store = await suite.open({ snapshotEvery: 2 });
        const mutating: AggregateStreamOptions<Tally> = {
          initial: tally.initial,
          evolve: (state, event) => {
            state.count += 1;
            state.total += amountOf(event);
            state.versions.push(event.streamversion);
            return state;
          },
          snapshot: 'tally@1',
        };
        await grow(store, 3);
        const first = await store.aggregateStream('order-1', mutating);
        first.state.versions.push(99);
        await grow(store, 1);

        const results = [
          await store.aggregateStream('order-1', mutating),
          await store.aggregateStream('order-1', mutating),
        ];

        expect(first.fromSnapshot).toBe(false);
        expect(results).toEqual(
          Array(2).fill({ state: tallyOf(4), streamVersion: 3, fromSnapshot: true }),
        );
      },
    );

    suite.test('asOf a position gives the state at that position', async () => {
      const store = await suite.open();
      const positions = await grow(store, 4);
      const afterV1 = (BigInt(positions[1]!) + 1n).toString();

      const at = async (position: string) =>
        store.aggregateStream('order-1', { ...tally, asOf: { position } });

      expect(await at(positions[1]!)).toEqual({
        state: tallyOf(2),
        streamVersion: 1,
        fromSnapshot: false,
      });
      expect(await at(afterV1)).toEqual(await at(positions[1]!));
      expect(await at('0')).toEqual({ state: tallyOf(0), streamVersion: -1, fromSnapshot: false });
      expect(await at(positions[3]!)).toMatchObject({ state: tallyOf(4), streamVersion: 3 });
      expect(await at('999999999999999999')).toMatchObject({ streamVersion: 3 });
    });

    suite.test('asOf a position before the newest snapshot ignores that snapshot', async () => {
      const store = await suite.open({ snapshotEvery: 2 });
      const positions = await grow(store, 5);
      const options = { ...tally, snapshot: 'tally@1' };
      expect(await store.aggregateStream('order-1', options)).toMatchObject({ streamVersion: 4 });

      const past = await store.aggregateStream('order-1', {
        ...options,
        asOf: { position: positions[1]! },
      });

      expect(past).toEqual({ state: tallyOf(2), streamVersion: 1, fromSnapshot: false });
    });

    suite.test('asOf a position after a snapshot starts from that snapshot', async () => {
      const store = await suite.open({ snapshotEvery: 2 });
      await grow(store, 4);
      const options = { ...tally, snapshot: 'tally@1' };
      await store.aggregateStream('order-1', options);
      const positions = await grow(store, 2);

      const past = await store.aggregateStream('order-1', {
        ...options,
        asOf: { position: positions[0]! },
      });

      expect(past).toEqual({ state: tallyOf(5), streamVersion: 4, fromSnapshot: true });
    });

    suite.test('asOf a recording time excludes the events recorded after it', async () => {
      const store = await suite.open();
      // The events' own times are misleading on purpose: asOf goes by when the store recorded them.
      const event = (amount: number, time: string) =>
        testEvent('order-1', { data: { amount }, time });
      const start = new Date();
      await sleep(20);
      await store.appendToStream('order-1', [event(1, '2999-01-01T00:00:00Z')]);
      await store.appendToStream('order-1', [event(2, '2999-01-01T00:00:00Z')]);
      await sleep(20);
      const between = new Date();
      await sleep(20);
      await store.appendToStream('order-1', [event(3, '2001-01-01T00:00:00Z')]);
      await store.appendToStream('order-1', [event(4, '2001-01-01T00:00:00Z')]);

      const at = async (time: Date | string) =>
        store.aggregateStream('order-1', { ...tally, asOf: { time } });

      const twoEvents = { state: tallyOf(2), streamVersion: 1, fromSnapshot: false };
      expect(await at(between)).toEqual(twoEvents);
      expect(await at(between.toISOString())).toEqual(twoEvents);
      expect(await at(start)).toEqual({
        state: tallyOf(0),
        streamVersion: -1,
        fromSnapshot: false,
      });
      expect(await at(new Date(Date.now() + 60_000))).toMatchObject({ state: tallyOf(4) });
    });

    suite.test('asOf an invalid time or position fails with INVALID_ARGUMENT', async () => {
      const store = await suite.open();
      await grow(store, 1);

      await expectError(
        store.aggregateStream('order-1', { ...tally, asOf: { time: 'yesterday-ish' } }),
        'INVALID_ARGUMENT',
        { time: 'yesterday-ish' },
      );
      await expectError(
        store.aggregateStream('order-1', { ...tally, asOf: { position: '-1' } }),
        'INVALID_ARGUMENT',
        { 'asOf.position': '-1' },
      );
    });
  });
}
