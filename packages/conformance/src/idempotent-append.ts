import { describe, expect } from 'vitest';
import { expectError, expectLogUnchanged, logState } from './expectations.js';
import { idsOf, testEvent, testEvents } from './fixtures.js';
import type { ConformanceSuite } from './suite.js';

export function describeIdempotentAppend(suite: ConformanceSuite): void {
  describe('idempotent append', () => {
    suite.test(
      're-appending the same events returns the original result and writes nothing',
      async () => {
        const store = await suite.open();
        const events = testEvents('order-1', 3);
        const original = await store.appendToStream('order-1', events);
        const before = await logState(store);

        const retry = await store.appendToStream('order-1', events);

        expect(retry).toEqual({ ...original, deduplicated: true });
        await expectLogUnchanged(store, before);
        expect(await store.streamVersion('order-1')).toBe(2);
      },
    );

    suite.test('a retry with a now-wrong expected version is still deduplicated', async () => {
      const store = await suite.open();
      const events = testEvents('order-1', 2);
      const original = await store.appendToStream('order-1', events, {
        expectedVersion: 'no_stream',
      });
      const before = await logState(store);

      const retries = [
        await store.appendToStream('order-1', events, { expectedVersion: 'no_stream' }),
        await store.appendToStream('order-1', events, { expectedVersion: -1 }),
        await store.appendToStream('order-1', events, { expectedVersion: 5 }),
      ];

      expect(retries).toEqual(Array(3).fill({ ...original, deduplicated: true }));
      await expectLogUnchanged(store, before);
    });

    suite.test(
      'a retry after later appends returns the original version and positions',
      async () => {
        const store = await suite.open();
        const events = testEvents('order-1', 2);
        const original = await store.appendToStream('order-1', events);
        await store.appendToStream('order-1', testEvents('order-1', 3, { from: 2 }));
        await store.appendToStream('order-2', testEvents('order-2', 1));
        const before = await logState(store);

        const retry = await store.appendToStream('order-1', events, {
          expectedVersion: 'no_stream',
        });

        expect(retry).toEqual({
          streamVersion: 1,
          position: original.position,
          positions: original.positions,
          deduplicated: true,
        });
        await expectLogUnchanged(store, before);
      },
    );

    suite.test('a retry of part of a batch returns the positions of that part', async () => {
      const store = await suite.open();
      const events = testEvents('order-1', 3);
      const original = await store.appendToStream('order-1', events);
      const before = await logState(store);

      const retry = await store.appendToStream('order-1', [events[1]!]);

      expect(retry).toEqual({
        streamVersion: 1,
        position: original.positions[1],
        positions: [original.positions[1]],
        deduplicated: true,
      });
      await expectLogUnchanged(store, before);
    });

    suite.test('events appended again as they were read back are deduplicated', async () => {
      const store = await suite.open();
      const original = await store.appendToStream('order-1', testEvents('order-1', 2));
      const before = await logState(store);

      const retry = await store.appendToStream('order-1', await store.readStream('order-1'));

      expect(retry).toEqual({ ...original, deduplicated: true });
      await expectLogUnchanged(store, before);
    });

    suite.test(
      'a retry with a rebuilt envelope but the same id, type and data is deduplicated',
      async () => {
        const store = await suite.open();
        const event = testEvent('order-1', { data: { amount: 5 }, time: '2020-01-01T00:00:00Z' });
        const original = await store.appendToStream('order-1', [event]);
        const before = await logState(store);
        const rebuilt = testEvent('order-1', { id: event.id, data: { amount: 5 } });
        expect(rebuilt.time).not.toBe(event.time);
        expect(rebuilt.traceparent).not.toBe(event.traceparent);

        const retry = await store.appendToStream('order-1', [rebuilt]);

        expect(retry).toEqual({ ...original, deduplicated: true });
        await expectLogUnchanged(store, before);
        expect((await store.readStream('order-1'))[0]!.time).toBe('2020-01-01T00:00:00Z');
      },
    );

    suite.test('concurrent retries of one batch store it once', async () => {
      const store = await suite.open();
      const events = testEvents('order-1', 3);

      const results = await Promise.all(
        Array.from({ length: 10 }, () => store.appendToStream('order-1', events)),
      );

      const written = results.filter((r) => !r.deduplicated);
      expect(written).toHaveLength(1);
      expect(results).toEqual(
        results.map((r) => ({ ...written[0]!, deduplicated: r.deduplicated })),
      );
      expect(idsOf(await store.readAll())).toEqual(idsOf(events));
    });

    suite.test('reusing an id in another stream fails with DUPLICATE_EVENT_ID', async () => {
      const store = await suite.open();
      const event = testEvent('order-1', { data: { amount: 5 } });
      await store.appendToStream('order-1', [event]);
      const before = await logState(store);
      const copy = testEvent('order-2', { id: event.id, data: { amount: 5 } });

      await expectError(
        store.appendToStream('order-2', [copy]),
        'DUPLICATE_EVENT_ID',
        expect.objectContaining({ eventId: event.id }),
      );

      await expectLogUnchanged(store, before);
      expect(await store.streamExists('order-2')).toBe(false);
    });

    suite.test('reusing an id with different data fails with DUPLICATE_EVENT_ID', async () => {
      const store = await suite.open();
      const event = testEvent('order-1', { data: { amount: 5 } });
      await store.appendToStream('order-1', [event]);
      const before = await logState(store);

      await expectError(
        store.appendToStream('order-1', [{ ...event, data: { amount: 6 } }]),
        'DUPLICATE_EVENT_ID',
        expect.objectContaining({ eventId: event.id }),
      );

      await expectLogUnchanged(store, before);
    });

    suite.test('reusing an id with a different type fails with DUPLICATE_EVENT_ID', async () => {
      const store = await suite.open();
      const event = testEvent('order-1', { data: { amount: 5 } });
      await store.appendToStream('order-1', [event]);
      const before = await logState(store);

      await expectError(
        store.appendToStream('order-1', [{ ...event, type: 'conformance.item.removed.v1' }]),
        'DUPLICATE_EVENT_ID',
        expect.objectContaining({ eventId: event.id }),
      );

      await expectLogUnchanged(store, before);
    });

    suite.test('a batch mixing stored and new ids fails with DUPLICATE_EVENT_ID', async () => {
      const store = await suite.open();
      const [stored, fresh] = [testEvent('order-1'), testEvent('order-1')];
      await store.appendToStream('order-1', [stored]);
      const before = await logState(store);

      await expectError(
        store.appendToStream('order-1', [stored, fresh]),
        'DUPLICATE_EVENT_ID',
        expect.objectContaining({ eventId: stored.id }),
      );

      await expectLogUnchanged(store, before);
    });

    suite.test('an id repeated inside one batch fails with DUPLICATE_EVENT_ID', async () => {
      const store = await suite.open();
      await store.appendToStream('order-2', testEvents('order-2', 1));
      const before = await logState(store);
      const [a, b] = testEvents('order-1', 2);

      await expectError(
        store.appendToStream('order-1', [a, b, { ...a! }]),
        'DUPLICATE_EVENT_ID',
        expect.objectContaining({ eventId: a!.id }),
      );

      await expectLogUnchanged(store, before);
      expect(await store.streamExists('order-1')).toBe(false);
    });
  });
}
