import type {
  EventStore,
  ReadAllOptions,
  ReadStreamOptions,
  SubscribeOptions,
} from '@eventfabric/core';
import { describe, expect } from 'vitest';
import { expectError, expectLogUnchanged, logState } from './expectations.js';
import { testEvent, testEvents } from './fixtures.js';
import { within } from './recorder.js';
import type { ConformanceSuite } from './suite.js';

/**
 * Start a subscription that must fail. A store may reject its options when `subscribe` is
 * called or through `done`; both count, a subscription that keeps running does not.
 */
function failingSubscription(store: EventStore, options: SubscribeOptions): () => Promise<void> {
  return () => within(store.subscribe(options).done, 'the subscription to fail');
}

const handler = (): void => undefined;

export function describeBadReadInput(suite: ConformanceSuite): void {
  /** Assert that the read fails with INVALID_ARGUMENT and `details`, changing nothing. */
  function rejects(name: string, read: (store: EventStore) => unknown, details?: unknown): void {
    suite.test(name, async () => {
      const store = await suite.open();
      await store.appendToStream('order-1', testEvents('order-1', 2));
      const before = await logState(store);
      await expectError(() => read(store), 'INVALID_ARGUMENT', details);
      await expectLogUnchanged(store, before);
    });
  }

  describe('bad read input', () => {
    for (const after of ['abc', '-1', '1.5', '', 5]) {
      const label = JSON.stringify(after);
      rejects(
        `readAll after ${label} is rejected with INVALID_ARGUMENT`,
        (store) => store.readAll({ after: after as never }),
        { after },
      );
      rejects(
        `readByCorrelation after ${label} is rejected with INVALID_ARGUMENT`,
        (store) => store.readByCorrelation('order-1', { after: after as never }),
        { after },
      );
    }
    for (const limit of [0, -1, 1.5]) {
      rejects(
        `readAll limit ${limit} is rejected with INVALID_ARGUMENT`,
        (store) => store.readAll({ limit }),
        { limit },
      );
    }
    rejects(
      'readByCorrelation limit 0 is rejected with INVALID_ARGUMENT',
      (store) => store.readByCorrelation('order-1', { limit: 0 }),
      { limit: 0 },
    );
    const filters: Array<[string, ReadAllOptions]> = [
      ['typePrefixes that are not an array', { typePrefixes: 'shop.' as never }],
      ['an empty category', { categories: [''] }],
    ];
    for (const [label, filter] of filters) {
      rejects(`readAll with ${label} is rejected with INVALID_ARGUMENT`, (store) =>
        store.readAll(filter),
      );
      rejects(`subscribe with ${label} is rejected with INVALID_ARGUMENT`, (store) =>
        failingSubscription(store, { ...filter, handler })(),
      );
    }
    const windows: Array<[string, ReadStreamOptions, Record<string, unknown>]> = [
      ['limit 0', { limit: 0 }, { limit: 0 }],
      ['limit -1 backwards', { limit: -1, direction: 'backwards' }, { limit: -1 }],
      ['fromVersion -1', { fromVersion: -1 }, { fromVersion: -1 }],
      ['toVersion 1.5', { toVersion: 1.5 }, { toVersion: 1.5 }],
      ['direction "sideways"', { direction: 'sideways' as never }, { direction: 'sideways' }],
    ];
    for (const [label, options, details] of windows) {
      rejects(
        `readStream ${label} is rejected with INVALID_ARGUMENT`,
        (store) => store.readStream('order-1', options),
        details,
      );
    }
    for (const streamId of ['', '$all']) {
      rejects(
        `reading stream id ${JSON.stringify(streamId)} is rejected with INVALID_ARGUMENT`,
        (store) => store.readStream(streamId),
        { streamId },
      );
      rejects(
        `streamVersion of stream id ${JSON.stringify(streamId)} is rejected with INVALID_ARGUMENT`,
        (store) => store.streamVersion(streamId),
        { streamId },
      );
    }
    rejects(
      'subscribe after "abc" is rejected with INVALID_ARGUMENT',
      (store) => failingSubscription(store, { after: 'abc', handler })(),
      { after: 'abc' },
    );
    rejects('subscribe batchSize 0 is rejected with INVALID_ARGUMENT', (store) =>
      failingSubscription(store, { batchSize: 0, handler })(),
    );
    rejects('subscribe without a handler is rejected with INVALID_ARGUMENT', (store) =>
      failingSubscription(store, {} as SubscribeOptions)(),
    );

    suite.test('every operation on a closed store fails with STORE_CLOSED', async () => {
      const store = await suite.open();
      const event = testEvent('order-1');
      await store.appendToStream('order-1', [event]);
      await store.close();

      const operations: Array<[string, () => unknown]> = [
        ['appendToStream', () => store.appendToStream('order-1', [testEvent('order-1')])],
        ['readStream', () => store.readStream('order-1')],
        ['readAll', () => store.readAll()],
        ['readByCorrelation', () => store.readByCorrelation(event.id)],
        ['streamExists', () => store.streamExists('order-1')],
        ['streamVersion', () => store.streamVersion('order-1')],
        ['headPosition', () => store.headPosition()],
        [
          'aggregateStream',
          () => store.aggregateStream('order-1', { initial: () => 0, evolve: (n) => n + 1 }),
        ],
        ['subscribe', failingSubscription(store, { handler })],
      ];
      const failures: string[] = [];
      for (const [name, operation] of operations) {
        await expectError(operation, 'STORE_CLOSED').catch((error: Error) => {
          failures.push(`${name}: ${error.message}`);
        });
      }
      expect(failures).toEqual([]);
    });

    suite.test('close() is idempotent', async () => {
      const store = await suite.open();
      await store.appendToStream('order-1', [testEvent('order-1')]);

      await Promise.all([store.close(), store.close()]);

      await expect(store.close()).resolves.toBeUndefined();
    });
  });
}
