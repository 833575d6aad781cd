import { describe, expect, it } from 'vitest';
import {
  createEvent,
  createInMemoryEventStore,
  createRelay,
  InMemoryRelayCheckpoints,
  type StoredEvent,
} from '../src/index.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

function event(n: number) {
  return createEvent({ type: 't.item.added.v1', source: '/test', subject: 'item-1', data: { n } });
}

// How the relay keeps up with a slow destination (docs/benchmarks.md, relay.latency): pages
// read while a forward is in flight go out together, and a batch's checkpoint is written
// while the next batch is forwarded.
describe('relay batching', () => {
  it('given a slow destination and events appended one at a time, when a forward is in flight, then what arrives meanwhile goes out as one batch', async () => {
    const store = createInMemoryEventStore();
    const batches: number[][] = [];
    let release!: () => void;
    const firstForwardHeld = new Promise<void>((resolve) => (release = resolve));
    const relay = await createRelay({
      name: 'slow',
      store,
      checkpoints: new InMemoryRelayCheckpoints(),
      forward: async (events) => {
        batches.push(events.map((e) => (e.data as { n: number }).n));
        if (batches.length === 1) await firstForwardHeld;
      },
    });
    try {
      await store.appendToStream('item-1', [event(0)]);
      await until(() => batches.length === 1, 'the first forward');
      // Nine appends, each read as its own page while the first forward is held.
      for (let n = 1; n <= 9; n++) {
        await store.appendToStream('item-1', [event(n)]);
        await new Promise((resolve) => setImmediate(resolve));
      }
      release();
      await until(() => relay.position === '10', 'the checkpoint to reach 10');
      expect(batches).toEqual([[0], [1, 2, 3, 4, 5, 6, 7, 8, 9]]);
    } finally {
      release();
      await relay.stop();
    }
  });

  it('given a slow checkpoint store, then the next batch is forwarded while the last checkpoint is written, checkpoints still advance in order, and stop waits for the last one', async () => {
    const store = createInMemoryEventStore();
    const inner = new InMemoryRelayCheckpoints();
    const log: string[] = [];
    const checkpoints = {
      acquire: inner.acquire.bind(inner),
      release: inner.release.bind(inner),
      async advance(name: string, owner: string, position: string | undefined, leaseMs: number) {
        if (position === undefined) return inner.advance(name, owner, position, leaseMs);
        log.push(`checkpoint ${position} start`);
        await sleep(60);
        log.push(`checkpoint ${position} done`);
        return inner.advance(name, owner, position, leaseMs);
      },
    };
    for (let n = 0; n < 6; n++) await store.appendToStream('item-1', [event(n)]);
    const forwarded: StoredEvent[] = [];
    const relay = await createRelay({
      name: 'pipelined',
      store,
      checkpoints,
      batchSize: 2,
      forward: async (events) => {
        log.push(`forward ${events.map((e) => e.position).join(',')}`);
        forwarded.push(...events);
        await sleep(20);
      },
    });
    await until(() => forwarded.length === 6, 'six events forwarded');
    await relay.stop();
    expect(forwarded.map((e) => e.position)).toEqual(['1', '2', '3', '4', '5', '6']);
    expect(log).toEqual([
      'forward 1,2',
      'checkpoint 2 start',
      'forward 3,4',
      'checkpoint 2 done',
      'checkpoint 4 start',
      'forward 5,6',
      'checkpoint 4 done',
      'checkpoint 6 start',
      'checkpoint 6 done',
    ]);
    expect(await inner.acquire('pipelined', 'next', 1000)).toEqual({ held: true, position: '6' });
  });
});
