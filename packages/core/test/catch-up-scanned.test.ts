import { describe, expect, it } from 'vitest';
import {
  CatchUpSubscription,
  createEvent,
  createInMemoryEventStore,
  type ReadAllOptions,
} from '../src/index.js';

function event(type: string, i: number) {
  return createEvent({ type, source: '/t', subject: `s-${i}`, data: { i } });
}

describe('CatchUpSubscription with a filter and readPage', () => {
  it('moves its cursor past the events it does not want, so later reads start after them', async () => {
    const store = createInMemoryEventStore();
    await store.appendToStream('s-0', [event('wanted.thing.happened.v1', 0)]);
    for (let i = 1; i <= 40; i++)
      await store.appendToStream(`s-${i}`, [event('other.thing.happened.v1', i)]);
    const reads: (string | undefined)[] = [];
    const wakes: (() => void)[] = [];
    const seen: string[] = [];
    const subscription = new CatchUpSubscription(
      {
        readAll: (options) => store.readAll(options),
        readPage: async (options: ReadAllOptions) => {
          reads.push(options.after);
          const scannedTo = await store.headPosition();
          return { events: await store.readAll(options), scannedTo };
        },
        onAppend: (wake) => {
          wakes.push(wake);
          return () => undefined;
        },
      },
      {
        typePrefixes: ['wanted.'],
        batchSize: 10,
        handler: (e) => void seen.push(e.position!),
      },
    );
    await until(() => subscription.live);
    expect(seen).toEqual(['1']);
    // A burst the subscription does not want, then one it does.
    for (let i = 41; i <= 60; i++)
      await store.appendToStream(`s-${i}`, [event('other.thing.happened.v1', i)]);
    for (const wake of wakes) wake();
    await until(() => reads.length >= 2);
    await store.appendToStream('s-61', [event('wanted.thing.happened.v1', 61)]);
    for (const wake of wakes) wake();
    await until(() => seen.length === 2);
    await subscription.stop();
    expect(seen).toEqual(['1', '62']);
    // The first read starts at the beginning; each later one after the head it last scanned,
    // never again at position 1.
    expect(reads[0]).toBeUndefined();
    expect(reads.slice(1, 3)).toEqual(['41', '61']);
    expect(reads.filter((after) => after === '1')).toEqual([]);
  });
});

async function until(condition: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
