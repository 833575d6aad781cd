import { afterEach, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { describeRelayCheckpointStoreConformance } from '@eventfabric/conformance';
import {
  createEvent,
  createInMemoryEventStore,
  createRelay,
  InMemoryRelayCheckpoints,
  isEventFabricError,
  type EventStore,
  type Relay,
  type RelayOptions,
  type StoredEvent,
} from '../src/index.js';

describeRelayCheckpointStoreConformance('in-memory', {
  create: () => new InMemoryRelayCheckpoints(),
});

const relays: Relay[] = [];
afterEach(async () => {
  await Promise.all(relays.splice(0).map((r) => r.stop()));
});

async function relay(options: RelayOptions): Promise<Relay> {
  const r = await createRelay(options);
  relays.push(r);
  return r;
}

async function appendSome(store: EventStore, stream: string, types: string[]): Promise<void> {
  await store.appendToStream(
    stream,
    types.map((type, n) =>
      createEvent({ type, source: '/test', subject: stream, data: { n, stream } }),
    ),
  );
}

async function until(condition: () => boolean, what: string, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const ids = (events: StoredEvent[]) =>
  events.map((e) => `${e.subject}:${(e.data as { n: number }).n}`);

describe('relay', () => {
  it('forwards the matching events in position order, in batches, and checkpoints the last read', async () => {
    const store = createInMemoryEventStore();
    const checkpoints = new InMemoryRelayCheckpoints();
    const batches: StoredEvent[][] = [];
    await appendSome(store, 'order-1', ['shop.order.placed.v1', 'shop.order.paid.v1']);
    await appendSome(store, 'mail-1', ['mail.message.sent.v1']);
    await appendSome(store, 'order-2', ['shop.order.placed.v1', 'shop.order.placed.v10']);
    const r = await relay({
      name: 'shop-out',
      store,
      checkpoints,
      // An exact type and a wildcard in the middle: the store filters by prefix, the relay exactly.
      topics: ['shop.order.placed.v1', 'shop.*.paid.v1'],
      batchSize: 2,
      forward: async (events) => void batches.push(events),
    });
    expect(r.active).toBe(true);
    await until(() => r.position === '5', 'the checkpoint to reach 5');
    expect(batches.flat().map((e) => e.position)).toEqual(['1', '2', '4']);
    expect(ids(batches.flat())).toEqual(['order-1:0', 'order-1:1', 'order-2:0']);
    expect(Math.max(...batches.map((b) => b.length))).toBeLessThanOrEqual(2);
    expect(r.forwarded).toBe(3);
    // Live: an append after catch-up goes too.
    await appendSome(store, 'order-3', ['shop.order.placed.v1']);
    await until(() => r.position === '6', 'the live event');
    expect(ids(batches.flat())).toEqual(['order-1:0', 'order-1:1', 'order-2:0', 'order-3:0']);
    await r.stop();
    expect(await checkpoints.acquire('shop-out', 'someone-else', 1000)).toEqual({
      held: true,
      position: '6',
    });
  });

  it('resumes from its checkpoint after a stop: nothing forwarded twice, nothing skipped', async () => {
    const store = createInMemoryEventStore();
    const checkpoints = new InMemoryRelayCheckpoints();
    const forwarded: StoredEvent[] = [];
    const forward = async (events: StoredEvent[]) => void forwarded.push(...events);
    await appendSome(store, 'a', ['t.x.happened.v1', 't.x.happened.v1']);
    const first = await relay({ name: 'r', store, checkpoints, forward });
    await until(() => first.position === '2', 'the first relay');
    await first.stop();
    await appendSome(store, 'b', ['t.x.happened.v1', 't.x.happened.v1', 't.x.happened.v1']);
    const second = await relay({ name: 'r', store, checkpoints, forward });
    await until(() => second.position === '5', 'the second relay');
    expect(forwarded.map((e) => e.position)).toEqual(['1', '2', '3', '4', '5']);
  });

  it('retries a failing forward with the same batch before anything later, and checkpoints only after it succeeds', async () => {
    const store = createInMemoryEventStore();
    const checkpoints = new InMemoryRelayCheckpoints();
    const calls: string[][] = [];
    let failures = 2;
    await appendSome(store, 'a', ['t.x.happened.v1', 't.x.happened.v1']);
    const r = await relay({
      name: 'r',
      store,
      checkpoints,
      forward: async (events) => {
        calls.push(events.map((e) => e.position!));
        if (failures-- > 0) throw new Error('broker down');
      },
    });
    await until(() => r.position === '2', 'the checkpoint after the retries', 5000);
    expect(calls).toEqual([
      ['1', '2'],
      ['1', '2'],
      ['1', '2'],
    ]);
    expect(r.forwarded).toBe(2);
  });

  it('lets one of two instances forward; the other takes over from the checkpoint when it stops', async () => {
    const store = createInMemoryEventStore();
    const checkpoints = new InMemoryRelayCheckpoints();
    const byOwner = new Map<string, string[]>();
    const make = (owner: string) =>
      relay({
        name: 'r',
        owner,
        store,
        checkpoints,
        leaseMs: 60,
        forward: async (events) => {
          byOwner.set(owner, [...(byOwner.get(owner) ?? []), ...events.map((e) => e.position!)]);
        },
      });
    const a = await make('a');
    const b = await make('b');
    expect([a.active, b.active]).toEqual([true, false]);
    await appendSome(store, 's', ['t.x.happened.v1', 't.x.happened.v1']);
    await until(() => a.position === '2', 'a to forward');
    await a.stop();
    await appendSome(store, 's', ['t.x.happened.v1']);
    await until(() => b.position === '3', 'b to take over');
    expect(byOwner.get('a')).toEqual(['1', '2']);
    expect(byOwner.get('b')).toEqual(['3']);
  });

  it('stands down when its lease was taken after expiring, and forwards nothing more', async () => {
    const store = createInMemoryEventStore();
    let now = 0;
    const checkpoints = new InMemoryRelayCheckpoints(() => now);
    const forwarded: string[] = [];
    const a = await relay({
      name: 'r',
      owner: 'a',
      store,
      checkpoints,
      leaseMs: 30_000, // ticks far apart: the clock is moved by hand
      forward: async (events) => void forwarded.push(...events.map((e) => e.position!)),
    });
    await appendSome(store, 's', ['t.x.happened.v1']);
    await until(() => a.position === '1', 'a to forward');
    now += 60_000; // a's lease expired without renewal
    expect(await checkpoints.acquire('r', 'b', 30_000)).toEqual({ held: true, position: '1' });
    await appendSome(store, 's', ['t.x.happened.v1']);
    await until(() => !a.active, 'a to stand down');
    // a may have sent event 2 before its checkpoint was refused, never recorded it.
    expect(a.position).toBe('1');
    expect(await checkpoints.acquire('r', 'b', 30_000)).toEqual({ held: true, position: '1' });
  });

  it('rejects malformed options with INVALID_ARGUMENT and takes no lease', async () => {
    const store = createInMemoryEventStore();
    const checkpoints = new InMemoryRelayCheckpoints();
    const forward = async () => undefined;
    const bad: unknown[] = [
      undefined,
      { name: '', store, checkpoints, forward },
      { name: 'has space', store, checkpoints, forward },
      { name: 7, store, checkpoints, forward },
      { name: 'r', store, checkpoints },
      { name: 'r', store: {}, checkpoints, forward },
      { name: 'r', store, checkpoints: {}, forward },
      { name: 'r', store, checkpoints, forward, batchSize: 0 },
      { name: 'r', store, checkpoints, forward, leaseMs: 1.5 },
      { name: 'r', store, checkpoints, forward, topics: [] },
      { name: 'r', store, checkpoints, forward, topics: ['bad pattern!'] },
    ];
    for (const options of bad) {
      const error = await createRelay(options as RelayOptions).catch((e: unknown) => e);
      expect(isEventFabricError(error, 'INVALID_ARGUMENT'), JSON.stringify(options)).toBe(true);
    }
    expect(await checkpoints.acquire('r', 'x', 1000)).toEqual({ held: true, position: undefined });
  });
});

describe('relay metrics', () => {
  it('reports forwarded events, pending events, latency and the active instance', async () => {
    const store = createInMemoryEventStore();
    const checkpoints = new InMemoryRelayCheckpoints();
    const registry = new Registry();
    let release: () => void = () => undefined;
    let blocked = false;
    await appendSome(store, 'a', ['t.x.happened.v1', 't.x.happened.v1', 't.x.happened.v1']);
    const r = await relay({
      name: 'metered',
      store,
      checkpoints,
      metrics: registry,
      forward: async () => {
        if (blocked) await new Promise<void>((resolve) => (release = resolve));
      },
    });
    await until(() => r.position === '3', 'the backlog');
    const value = async (name: string) => {
      const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
      return (metric?.values as { value: number; labels: object }[] | undefined)
        ?.filter((v) => JSON.stringify(v.labels) === JSON.stringify({ relay: 'metered' }))
        .map((v) => v.value);
    };
    expect(await value('eventfabric_outbox_forwarded_total')).toEqual([3]);
    expect(await value('eventfabric_outbox_pending')).toEqual([0]);
    expect(await value('eventfabric_outbox_relay_active')).toEqual([1]);
    // A destination that hangs leaves the log's new events pending.
    blocked = true;
    await appendSome(store, 'a', ['t.x.happened.v1', 't.x.happened.v1']);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await value('eventfabric_outbox_pending')).toEqual([2]);
    blocked = false;
    release();
    await until(() => r.position === '5', 'the rest');
    expect(await value('eventfabric_outbox_forwarded_total')).toEqual([5]);
    const latency = (await registry.getMetricsAsJSON()).find(
      (m) => m.name === 'eventfabric_outbox_relay_latency_seconds',
    );
    const count = (latency?.values as { value: number; metricName?: string }[]).find(
      (v) => v.metricName === 'eventfabric_outbox_relay_latency_seconds_count',
    );
    expect(count?.value).toBe(5);
    await r.stop();
    expect(await value('eventfabric_outbox_relay_active')).toEqual([0]);
  });
});
