import type { EventStore, ReadStreamOptions } from '@eventfabric/core';
import { describe, expect } from 'vitest';
import { idsOf, testEvent } from './fixtures.js';
import type { ConformanceSuite } from './suite.js';

/** `order-1` at versions 0..4, interleaved with events of `order-2` and `order-10`. */
async function seedStream(store: EventStore): Promise<{ ids: string[]; positions: string[] }> {
  const ids: string[] = [];
  const positions: string[] = [];
  for (let version = 0; version < 5; version++) {
    const event = testEvent('order-1', { data: { version } });
    const result = await store.appendToStream('order-1', [event]);
    ids.push(event.id);
    positions.push(result.position);
    await store.appendToStream('order-2', [testEvent('order-2')]);
    await store.appendToStream('order-10', [testEvent('order-10')]);
  }
  return { ids, positions };
}

/** Each read of `order-1`, and the versions it must return, in order. */
const WINDOWS: Array<{ name: string; options: ReadStreamOptions; versions: number[] }> = [
  { name: 'forwards by default, from version 0', options: {}, versions: [0, 1, 2, 3, 4] },
  { name: 'forwards from a version', options: { fromVersion: 2 }, versions: [2, 3, 4] },
  { name: 'forwards up to a version', options: { toVersion: 2 }, versions: [0, 1, 2] },
  {
    name: 'forwards within a range',
    options: { fromVersion: 1, toVersion: 3 },
    versions: [1, 2, 3],
  },
  { name: 'forwards with a limit', options: { limit: 2 }, versions: [0, 1] },
  {
    name: 'forwards from a version with a limit',
    options: { fromVersion: 1, limit: 2 },
    versions: [1, 2],
  },
  {
    name: 'forwards up to a version past the end',
    options: { toVersion: 99 },
    versions: [0, 1, 2, 3, 4],
  },
  { name: 'forwards from past the end', options: { fromVersion: 5 }, versions: [] },
  {
    name: 'forwards with fromVersion after toVersion',
    options: { fromVersion: 3, toVersion: 1 },
    versions: [],
  },
  {
    name: 'backwards from the last version by default',
    options: { direction: 'backwards' },
    versions: [4, 3, 2, 1, 0],
  },
  {
    name: 'backwards from a version',
    options: { direction: 'backwards', fromVersion: 3 },
    versions: [3, 2, 1, 0],
  },
  {
    name: 'backwards down to a version',
    options: { direction: 'backwards', toVersion: 2 },
    versions: [4, 3, 2],
  },
  {
    name: 'backwards within a range',
    options: { direction: 'backwards', fromVersion: 3, toVersion: 1 },
    versions: [3, 2, 1],
  },
  {
    name: 'backwards with a limit',
    options: { direction: 'backwards', limit: 2 },
    versions: [4, 3],
  },
  {
    name: 'backwards within a range with a limit',
    options: { direction: 'backwards', fromVersion: 3, toVersion: 0, limit: 2 },
    versions: [3, 2],
  },
  {
    name: 'backwards from past the end, starting at the last version',
    options: { direction: 'backwards', fromVersion: 10 },
    versions: [4, 3, 2, 1, 0],
  },
  {
    name: 'backwards with toVersion after fromVersion',
    options: { direction: 'backwards', fromVersion: 1, toVersion: 3 },
    versions: [],
  },
];

export function describeReadStream(suite: ConformanceSuite): void {
  describe('read stream', () => {
    for (const { name, options, versions } of WINDOWS) {
      suite.test(`readStream ${name}`, async () => {
        const store = await suite.open();
        const { ids, positions } = await seedStream(store);

        const events = await store.readStream('order-1', options);

        expect(events.map((e) => e.streamversion)).toEqual(versions);
        expect(idsOf(events)).toEqual(versions.map((v) => ids[v]));
        expect(events.map((e) => e.position)).toEqual(versions.map((v) => positions[v]));
        expect(events.map((e) => e.data)).toEqual(versions.map((version) => ({ version })));
      });
    }

    suite.test('readStream of a missing stream is empty, forwards and backwards', async () => {
      const store = await suite.open();
      await seedStream(store);

      expect(await store.readStream('order-3')).toEqual([]);
      expect(await store.readStream('order-3', { direction: 'backwards' })).toEqual([]);
      expect(await store.readStream('order', { fromVersion: 0, limit: 10 })).toEqual([]);
    });

    suite.test('streamExists and streamVersion describe existing and missing streams', async () => {
      const store = await suite.open();
      expect(await store.streamExists('order-1')).toBe(false);
      expect(await store.streamVersion('order-1')).toBe(-1);

      await seedStream(store);

      expect(await store.streamExists('order-1')).toBe(true);
      expect(await store.streamVersion('order-1')).toBe(4);
      expect(await store.streamVersion('order-10')).toBe(4);
      expect(await store.streamExists('order-3')).toBe(false);
      expect(await store.streamVersion('order-3')).toBe(-1);
    });

    suite.test('headPosition is "0" on an empty store, then the last position', async () => {
      const store = await suite.open();
      expect(await store.headPosition()).toBe('0');

      const first = await store.appendToStream('order-1', [testEvent('order-1')]);
      expect(await store.headPosition()).toBe(first.position);
      const second = await store.appendToStream('order-2', [testEvent('order-2')]);
      expect(await store.headPosition()).toBe(second.position);
    });

    suite.test('changing an event read back does not change the stored event', async () => {
      const store = await suite.open();
      await store.appendToStream('order-1', [testEvent('order-1', { data: { items: [1] } })]);
      const [read] = await store.readStream('order-1');

      (read!.data as { items: number[] }).items.push(2);
      read!.type = 'conformance.item.changed.v1';

      const [again] = await store.readStream('order-1');
      expect(again!.data).toEqual({ items: [1] });
      expect(again!.type).toBe('conformance.item.added.v1');
      expect((await store.readAll())[0]!.data).toEqual({ items: [1] });
    });
  });
}
