import type { EventStore, ExpectedVersion } from '@eventfabric/core';
import { describe, expect } from 'vitest';
import { expectError, expectLogUnchanged, logState } from './expectations.js';
import { idsOf, testEvent, testEvents } from './fixtures.js';
import type { ConformanceSuite } from './suite.js';

/** Give `streamId` events at versions 0..count-1. */
async function seed(store: EventStore, streamId: string, count: number): Promise<void> {
  await store.appendToStream(streamId, testEvents(streamId, count));
}

export function describeExpectedVersion(suite: ConformanceSuite): void {
  /** Append one event with `expected` and assert it lands at `version`. */
  async function expectAppended(
    store: EventStore,
    streamId: string,
    expected: ExpectedVersion,
    version: number,
  ): Promise<void> {
    const event = testEvent(streamId);
    const result = await store.appendToStream(streamId, [event], { expectedVersion: expected });
    expect(result.streamVersion).toBe(version);
    const [last] = await store.readStream(streamId, { direction: 'backwards', limit: 1 });
    expect(last).toMatchObject({ id: event.id, streamversion: version });
  }

  /** Append with `expected`, assert the exact error, and that nothing was written. */
  async function expectRejected(
    store: EventStore,
    streamId: string,
    expected: ExpectedVersion,
    actual: number | 'no_stream',
  ): Promise<void> {
    const before = await logState(store);
    const versionBefore = await store.streamVersion(streamId);
    await expectError(
      store.appendToStream(streamId, testEvents(streamId, 2), { expectedVersion: expected }),
      'WRONG_EXPECTED_VERSION',
      { streamId, expected, actual },
    );
    await expectLogUnchanged(store, before);
    expect(await store.streamVersion(streamId)).toBe(versionBefore);
  }

  describe('expected version', () => {
    suite.test("'any' appends to a missing stream and to an existing one", async () => {
      const store = await suite.open();
      await expectAppended(store, 'order-1', 'any', 0);
      await expectAppended(store, 'order-1', 'any', 1);
    });

    suite.test("'no_stream' appends to a missing stream", async () => {
      const store = await suite.open();
      await seed(store, 'order-2', 1);
      await expectAppended(store, 'order-1', 'no_stream', 0);
    });

    suite.test("'no_stream' fails on an existing stream and writes nothing", async () => {
      const store = await suite.open();
      await seed(store, 'order-1', 2);
      await expectRejected(store, 'order-1', 'no_stream', 1);
    });

    suite.test("'stream_exists' appends to an existing stream", async () => {
      const store = await suite.open();
      await seed(store, 'order-1', 1);
      await expectAppended(store, 'order-1', 'stream_exists', 1);
    });

    suite.test("'stream_exists' fails on a missing stream and writes nothing", async () => {
      const store = await suite.open();
      await seed(store, 'order-2', 1);
      await expectRejected(store, 'order-1', 'stream_exists', 'no_stream');
    });

    suite.test('an exact version appends when it is the last version', async () => {
      const store = await suite.open();
      await seed(store, 'order-1', 3);
      await expectAppended(store, 'order-1', 2, 3);
      await expectAppended(store, 'order-1', 3, 4);
    });

    suite.test('an exact version behind the stream fails and writes nothing', async () => {
      const store = await suite.open();
      await seed(store, 'order-1', 3);
      await expectRejected(store, 'order-1', 1, 2);
      await expectRejected(store, 'order-1', 0, 2);
    });

    suite.test('an exact version ahead of the stream fails and writes nothing', async () => {
      const store = await suite.open();
      await seed(store, 'order-1', 3);
      await expectRejected(store, 'order-1', 3, 2);
      await expectRejected(store, 'order-1', 7, 2);
    });

    suite.test("an exact version on a missing stream fails with actual 'no_stream'", async () => {
      const store = await suite.open();
      await seed(store, 'order-2', 1);
      await expectRejected(store, 'order-1', 0, 'no_stream');
    });

    suite.test(
      'expected version -1, what streamVersion reports for a missing stream, means no stream',
      async () => {
        const store = await suite.open();
        await expectAppended(store, 'order-1', await store.streamVersion('order-1'), 0);
        await expectRejected(store, 'order-1', -1, 0);
      },
    );

    suite.test(
      'of 20 concurrent appends expecting the same version exactly one succeeds',
      async () => {
        const store = await suite.open();
        await seed(store, 'order-1', 1);
        const events = Array.from({ length: 20 }, () => testEvent('order-1'));

        const outcomes = await Promise.allSettled(
          events.map((event) => store.appendToStream('order-1', [event], { expectedVersion: 0 })),
        );

        const winners = outcomes.flatMap((o, i) => (o.status === 'fulfilled' ? [i] : []));
        expect(winners).toHaveLength(1);
        expect(outcomes[winners[0]!]).toMatchObject({ value: { streamVersion: 1 } });
        for (const outcome of outcomes.filter((o) => o.status === 'rejected')) {
          await expectError(Promise.reject(outcome.reason), 'WRONG_EXPECTED_VERSION', {
            streamId: 'order-1',
            expected: 0,
            actual: 1,
          });
        }
        const stream = await store.readStream('order-1');
        expect(stream.map((e) => e.streamversion)).toEqual([0, 1]);
        expect(stream[1]!.id).toBe(events[winners[0]!]!.id);
      },
    );

    suite.test("of 20 concurrent appends expecting 'no_stream' exactly one succeeds", async () => {
      const store = await suite.open();
      const batches = Array.from({ length: 20 }, () => testEvents('order-1', 2));

      const outcomes = await Promise.allSettled(
        batches.map((batch) =>
          store.appendToStream('order-1', batch, { expectedVersion: 'no_stream' }),
        ),
      );

      const winners = outcomes.flatMap((o, i) => (o.status === 'fulfilled' ? [i] : []));
      expect(winners).toHaveLength(1);
      for (const outcome of outcomes.filter((o) => o.status === 'rejected')) {
        await expectError(Promise.reject(outcome.reason), 'WRONG_EXPECTED_VERSION', {
          streamId: 'order-1',
          expected: 'no_stream',
          actual: 1,
        });
      }
      expect(idsOf(await store.readStream('order-1'))).toEqual(idsOf(batches[winners[0]!]!));
      expect(await store.headPosition()).toBe(
        (outcomes[winners[0]!] as PromiseFulfilledResult<{ position: string }>).value.position,
      );
    });
  });
}
