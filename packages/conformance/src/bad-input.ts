import { DEFAULT_STORE_LIMITS, MAX_STREAM_ID_LENGTH, type EventStore } from '@eventfabric/core';
import { describe, expect } from 'vitest';
import { expectError, expectLogUnchanged, logState } from './expectations.js';
import { ITEM_ADDED, SOURCE, testEvent, testEvents } from './fixtures.js';
import type { ConformanceSuite } from './suite.js';

/** Issues that include one at `path`. */
const issueAt = (path: string) => expect.arrayContaining([expect.objectContaining({ path })]);

/** A store holding two events of `order-1`, so "nothing changed" means something. */
async function seededStore(suite: ConformanceSuite): Promise<EventStore> {
  const store = await suite.open();
  await store.appendToStream('order-1', testEvents('order-1', 2));
  return store;
}

export function describeBadInput(suite: ConformanceSuite): void {
  /** Assert that the append fails with `code` and `details`, and that the log is as it was. */
  function rejects(
    name: string,
    append: (store: EventStore) => Promise<unknown>,
    code: string,
    details?: unknown,
  ): void {
    suite.test(name, async () => {
      const store = await seededStore(suite);
      const before = await logState(store);
      await expectError(() => append(store), code, details);
      await expectLogUnchanged(store, before);
      expect(await store.streamVersion('order-1')).toBe(1);
    });
  }

  const valid = { specversion: '1.0', id: 'bad-1', type: ITEM_ADDED, source: SOURCE };
  const without = (key: keyof typeof valid) => {
    const event: Record<string, unknown> = { ...valid };
    delete event[key];
    return event;
  };

  describe('bad input', () => {
    rejects(
      'events that are not an array are rejected with INVALID_ARGUMENT',
      (store) => store.appendToStream('order-1', valid as unknown as unknown[]),
      'INVALID_ARGUMENT',
      { streamId: 'order-1' },
    );
    rejects(
      'an empty batch is rejected with INVALID_ARGUMENT',
      (store) => store.appendToStream('order-1', []),
      'INVALID_ARGUMENT',
      { streamId: 'order-1' },
    );
    for (const [label, event] of [
      ['a string', 'event'],
      ['null', null],
      ['an array', [valid]],
    ] as const) {
      rejects(
        `an event that is ${label} is rejected with INVALID_EVENT`,
        (store) => store.appendToStream('order-1', [event]),
        'INVALID_EVENT',
        { issues: issueAt('/') },
      );
    }
    for (const key of ['type', 'source', 'specversion'] as const) {
      rejects(
        `an event without ${key} is rejected with INVALID_EVENT`,
        (store) => store.appendToStream('order-1', [without(key)]),
        'INVALID_EVENT',
        { eventId: 'bad-1', issues: issueAt(`/${key}`) },
      );
    }
    rejects(
      'an event without id is rejected with INVALID_EVENT',
      (store) => store.appendToStream('order-1', [without('id')]),
      'INVALID_EVENT',
      { issues: issueAt('/id') },
    );
    const broken: Array<[string, Record<string, unknown>, string]> = [
      ['a specversion other than 1.0', { specversion: '0.3' }, '/specversion'],
      ['a type breaking the naming rule', { type: 'Treasury.Approved' }, '/type'],
      ['a subject other than the stream id', { subject: 'order-2' }, '/subject'],
      ['a malformed traceparent', { traceparent: '00-abc-01' }, '/traceparent'],
    ];
    for (const [label, change, path] of broken) {
      rejects(
        `an event with ${label} is rejected with INVALID_EVENT`,
        (store) => store.appendToStream('order-1', [{ ...valid, ...change }]),
        'INVALID_EVENT',
        { eventId: 'bad-1', issues: issueAt(path) },
      );
    }
    rejects(
      'one bad event in a batch of 10 rejects the whole batch',
      (store) => {
        const batch: unknown[] = testEvents('order-9', 10);
        batch[5] = { ...valid, type: 'Treasury.Approved' };
        return store.appendToStream('order-9', batch);
      },
      'INVALID_EVENT',
      { eventId: 'bad-1', issues: issueAt('/type') },
    );
    for (const expectedVersion of ['latest', '3', -2, 1.5, Number.NaN]) {
      rejects(
        `expected version ${typeof expectedVersion === 'string' ? `"${expectedVersion}"` : expectedVersion} is rejected with INVALID_ARGUMENT`,
        (store) =>
          store.appendToStream('order-1', [testEvent('order-1')], {
            expectedVersion: expectedVersion as never,
          }),
        'INVALID_ARGUMENT',
        { expectedVersion },
      );
    }
    for (const streamId of ['', '$all', '$order-1', 'order-\n1']) {
      rejects(
        `stream id ${JSON.stringify(streamId)} is rejected with INVALID_ARGUMENT`,
        (store) => store.appendToStream(streamId, [{ ...valid }]),
        'INVALID_ARGUMENT',
        { streamId },
      );
    }
    rejects(
      `a stream id longer than ${MAX_STREAM_ID_LENGTH} characters is rejected with INVALID_ARGUMENT`,
      (store) => store.appendToStream('x'.repeat(MAX_STREAM_ID_LENGTH + 1), [{ ...valid }]),
      'INVALID_ARGUMENT',
      { length: MAX_STREAM_ID_LENGTH + 1 },
    );
    rejects(
      'an event over 1 MiB is rejected with EVENT_TOO_LARGE',
      (store) =>
        store.appendToStream('order-1', [
          testEvent('order-1', { id: 'big-1', data: { blob: 'x'.repeat(1024 * 1024) } }),
        ]),
      'EVENT_TOO_LARGE',
      { eventId: 'big-1', size: expect.any(Number), limit: DEFAULT_STORE_LIMITS.maxEventBytes },
    );
    rejects(
      'a batch of 10 001 events is rejected with BATCH_TOO_LARGE',
      (store) =>
        store.appendToStream(
          'order-9',
          Array.from({ length: DEFAULT_STORE_LIMITS.maxBatchSize + 1 }, (_, i) => ({
            ...valid,
            id: `bulk-${i}`,
          })),
        ),
      'BATCH_TOO_LARGE',
      { count: DEFAULT_STORE_LIMITS.maxBatchSize + 1, limit: DEFAULT_STORE_LIMITS.maxBatchSize },
    );

    suite.test('the largest stream id and a batch of 10 000 events are accepted', async () => {
      const store = await suite.open();
      const longest = 'x'.repeat(MAX_STREAM_ID_LENGTH);
      const events = Array.from({ length: DEFAULT_STORE_LIMITS.maxBatchSize }, (_, i) => ({
        ...valid,
        id: `bulk-${i}`,
      }));

      const result = await store.appendToStream(longest, events);

      expect(result.streamVersion).toBe(DEFAULT_STORE_LIMITS.maxBatchSize - 1);
      expect(await store.streamVersion(longest)).toBe(DEFAULT_STORE_LIMITS.maxBatchSize - 1);
    });

    suite.test('event size is measured in UTF-8 bytes', async () => {
      const store = await suite.open();
      const chars = 600 * 1024;
      const big = testEvent('order-1', { data: { blob: 'é'.repeat(chars) } });

      const error = await expectError(store.appendToStream('order-1', [big]), 'EVENT_TOO_LARGE');

      expect(error.details.size).toBeGreaterThan(2 * chars);
      expect(error.details.size).toBeLessThan(2 * chars + 4096);
      expect(await store.headPosition()).toBe('0');
    });
  });
}
