import { createEvent, isTraceparent } from '@eventfabric/core';
import { describe, expect } from 'vitest';
import { expectIncreasingPositions, isAfter } from './expectations.js';
import { ITEM_ADDED, SOURCE, idsOf, testEvent, testEvents } from './fixtures.js';
import type { ConformanceSuite } from './suite.js';

export function describeAppend(suite: ConformanceSuite): void {
  describe('append', () => {
    suite.test('a new stream gets versions 0..n-1', async () => {
      const store = await suite.open();
      const events = testEvents('order-1', 3);

      const result = await store.appendToStream('order-1', events, {
        expectedVersion: 'no_stream',
      });

      expect(result.streamVersion).toBe(2);
      expect(result.deduplicated).toBe(false);
      expect(result.positions).toHaveLength(3);
      expectIncreasingPositions(result.positions);
      expect(result.position).toBe(result.positions[2]);
      expect(await store.headPosition()).toBe(result.position);
      expect(await store.streamVersion('order-1')).toBe(2);
      const read = await store.readStream('order-1');
      expect(idsOf(read)).toEqual(idsOf(events));
      expect(read.map((e) => e.streamversion)).toEqual([0, 1, 2]);
      expect(read.map((e) => e.position)).toEqual(result.positions);
    });

    suite.test('an append to an existing stream continues its versions and positions', async () => {
      const store = await suite.open();
      const first = testEvents('order-1', 2);
      const second = testEvents('order-1', 3, { from: 2 });
      const before = await store.appendToStream('order-1', first);

      const result = await store.appendToStream('order-1', second, { expectedVersion: 1 });

      expect(result.streamVersion).toBe(4);
      expect(result.deduplicated).toBe(false);
      expectIncreasingPositions([...before.positions, ...result.positions]);
      expect(await store.headPosition()).toBe(result.position);
      const read = await store.readStream('order-1');
      expect(idsOf(read)).toEqual(idsOf([...first, ...second]));
      expect(read.map((e) => e.streamversion)).toEqual([0, 1, 2, 3, 4]);
      expect(read.map((e) => e.position)).toEqual([...before.positions, ...result.positions]);
    });

    suite.test('appends to several streams share one ordered log', async () => {
      const store = await suite.open();
      const a1 = testEvent('order-1');
      const b1 = testEvent('invoice-1');
      const a2 = testEvent('order-1');
      const c1 = testEvent('payment-1');

      const results = [];
      for (const event of [a1, b1, a2, c1]) {
        results.push(await store.appendToStream(event.subject, [event]));
      }

      expect(results.map((r) => r.streamVersion)).toEqual([0, 0, 1, 0]);
      const positions = results.map((r) => r.position);
      expectIncreasingPositions(positions);
      const log = await store.readAll();
      expect(idsOf(log)).toEqual(idsOf([a1, b1, a2, c1]));
      expect(log.map((e) => e.position)).toEqual(positions);
      expect(log.map((e) => e.streamversion)).toEqual([0, 0, 1, 0]);
      expect(await store.headPosition()).toBe(positions[3]);
    });

    suite.test(
      'events read back carry the full envelope, stream version and position',
      async () => {
        const store = await suite.open();
        const root = testEvent('order-1', { type: 'shop.order.placed.v1', data: { total: 10 } });
        const event = createEvent({
          type: 'shop.order.paid.v1',
          source: SOURCE,
          subject: 'order-1',
          parent: { ...root, tracestate: 'vendor=abc', tenantid: 'tenant-7' },
          partitionkey: 'customer-3',
          dataschema: 'urn:eventfabric:shop.order.paid:v1',
          data: {
            text: 'zürich ✓ 東京',
            integer: 42,
            fraction: -0.125,
            flag: true,
            nothing: null,
            list: [1, 'two', { three: [3] }],
            nested: { deeper: { deepest: 'yes' } },
          },
        });

        const first = await store.appendToStream('order-1', [root]);
        const result = await store.appendToStream('order-1', [event]);

        const expected = [
          { ...root, streamversion: 0, position: first.position },
          { ...event, streamversion: 1, position: result.position },
        ];
        expect(await store.readStream('order-1')).toEqual(expected);
        expect(await store.readAll()).toEqual(expected);
        expect(await store.readByCorrelation(root.id)).toEqual(expected);
        expect(expected[1]).toMatchObject({
          correlationid: root.id,
          causationid: root.id,
          tracestate: 'vendor=abc',
          tenantid: 'tenant-7',
          partitionkey: 'customer-3',
        });
      },
    );

    suite.test('a minimal event gets the envelope defaults', async () => {
      const store = await suite.open();
      const minimal = { specversion: '1.0', id: 'outside-id-1', type: ITEM_ADDED, source: SOURCE };

      const result = await store.appendToStream('order-1', [minimal]);

      const [stored] = await store.readStream('order-1');
      expect(stored).toEqual({
        ...minimal,
        subject: 'order-1',
        partitionkey: 'order-1',
        correlationid: 'outside-id-1',
        datacontenttype: 'application/json',
        data: null,
        time: expect.any(String),
        traceparent: expect.any(String),
        streamversion: 0,
        position: result.position,
      });
      expect(Number.isNaN(Date.parse(stored!.time))).toBe(false);
      expect(isTraceparent(stored!.traceparent)).toBe(true);
    });

    suite.test('an event whose data is undefined reads back with data null', async () => {
      const store = await suite.open();
      const event = { specversion: '1.0', id: 'no-data-1', type: ITEM_ADDED, source: SOURCE };

      await store.appendToStream('order-1', [{ ...event, data: undefined }]);

      const [stored] = await store.readStream('order-1');
      expect(stored).toHaveProperty('data', null);
    });

    suite.test('positions stay ordered across many appends', async () => {
      const store = await suite.open();
      const positions: string[] = [];

      for (let i = 0; i < 12; i++) {
        const result = await store.appendToStream(
          `order-${i % 3}`,
          testEvents(`order-${i % 3}`, 2),
        );
        positions.push(...result.positions);
      }

      expectIncreasingPositions(positions);
      const log = await store.readAll();
      expect(log.map((e) => e.position)).toEqual(positions);
      expect(isAfter(positions[23]!, positions[0]!)).toBe(true);
      expect(await store.headPosition()).toBe(positions[23]);
    });

    suite.test('a store that admits foreign types stores them as they are', async () => {
      const store = await suite.open({ allowForeignTypes: true });
      const foreign = { specversion: '1.0', id: 'gh-1', type: 'com.github.push', source: SOURCE };

      await store.appendToStream('repo-1', [foreign]);

      const [stored] = await store.readStream('repo-1');
      expect(stored).toMatchObject({ id: 'gh-1', type: 'com.github.push', streamversion: 0 });
    });
  });
}
