import { join, dirname } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Delivery, DeliveryHandler } from '@eventfabric/core';
import {
  createSqliteEventStore,
  createSqliteTransport,
  type SqliteEventStore,
  type SqliteTransport,
  type SqliteTransportOptions,
} from '../src/index.js';
import { fnv1a32, partitionOf } from '../src/transport/partition-hash.js';
import { countEffects, readEffects, startConsumer } from './fixtures/consumer-process.js';
import { codeOf, itemEvent, sleep, tempDbPath, until } from './fixtures/transport-helpers.js';

const opened: { close(): Promise<void> }[] = [];

afterEach(async () => {
  // Transports first (they drain), then their stores.
  for (const handle of opened.splice(0).reverse()) await handle.close();
});

function openStore(path = tempDbPath()): SqliteEventStore {
  const store = createSqliteEventStore({ path });
  opened.push(store);
  return store;
}

function openTransport(
  store: SqliteEventStore,
  options: Omit<SqliteTransportOptions, 'store'> = {},
): SqliteTransport {
  const transport = createSqliteTransport({ store, ...options });
  opened.push(transport);
  return transport;
}

/** A handler that acks and records what it saw. */
function recorder(): { seen: Delivery[]; handler: DeliveryHandler } {
  const seen: Delivery[] = [];
  return {
    seen,
    handler: async (delivery) => {
      seen.push(delivery);
      await delivery.ack();
    },
  };
}

describe('SqliteTransport', () => {
  it('given events published before a group exists, then the group receives the matching ones in log order, once each', async () => {
    const store = openStore();
    const transport = openTransport(store);
    const events = [itemEvent('a', 0), itemEvent('b', 0, 'test.other.added.v1'), itemEvent('a', 1)];
    const published = await transport.publish(events);
    expect(published.positions).toEqual(['1', '2', '3']);

    const { seen, handler } = recorder();
    const subscription = await transport.subscribe('svc.items', handler, {
      topics: ['test.item.*'],
    });
    await until(() => seen.length === 2, 3000, 'two deliveries');
    await sleep(50);
    // The event as published: neither upcast nor stamped with its place in the log.
    expect(seen.map((d) => d.event)).toEqual([events[0], events[2]]);
    expect(seen.map((d) => d.deliveryCount)).toEqual([1, 1]);
    expect(seen[0]!.group).toBe('svc.items');
    expect(seen[0]!.origin).toMatch(/^svc\.items\/partition-\d+$/);
    expect(subscription.partitions()).toHaveLength(16);
  });

  it('given a live group, when events are published, then they are delivered without polling delay', async () => {
    const store = openStore();
    const transport = openTransport(store);
    const { seen, handler } = recorder();
    await transport.subscribe('svc.live', handler, { topics: ['test.*'] });
    const started = Date.now();
    await transport.publish([itemEvent('x', 0)]);
    await until(() => seen.length === 1, 2000, 'the delivery');
    expect(Date.now() - started).toBeLessThan(500);
  });

  it('given an in-memory store, then the transport shares its one connection', async () => {
    const store = openStore(':memory:');
    const transport = openTransport(store);
    const { seen, handler } = recorder();
    await transport.subscribe('svc.memory', handler, { topics: ['test.*'] });
    await transport.publish([itemEvent('m', 0), itemEvent('m', 1)]);
    await until(() => seen.length === 2, 2000, 'both deliveries');
    expect(seen.map((d) => (d.event.data as { i: number }).i)).toEqual([0, 1]);
  });

  it('publishes atomically across streams, in order, idempotently; a bad event writes nothing', async () => {
    const store = openStore();
    const transport = openTransport(store);
    const batch = [itemEvent('a', 0), itemEvent('b', 0), itemEvent('a', 1)];
    expect((await transport.publish(batch)).positions).toEqual(['1', '2', '3']);
    expect((await store.readStream('item-a')).map((e) => [e.streamversion, e.position])).toEqual([
      [0, '1'],
      [1, '3'],
    ]);
    // A retried publish stores nothing twice and reports the first positions.
    expect((await transport.publish(batch)).positions).toEqual(['1', '2', '3']);
    expect(await store.headPosition()).toBe('3');

    const noSubject = { ...itemEvent('c', 0), subject: undefined };
    expect(await codeOf(() => transport.publish([itemEvent('c', 1), noSubject as never]))).toBe(
      'INVALID_EVENT',
    );
    const reserved = { ...itemEvent('c', 0), subject: '$all' };
    expect(await codeOf(() => transport.publish([reserved]))).toBe('INVALID_EVENT');
    expect(await codeOf(() => transport.publish([itemEvent('c', 2), { type: 'x' } as never]))).toBe(
      'INVALID_EVENT',
    );
    const reused = { ...itemEvent('d', 0), id: batch[0]!.id };
    expect(await codeOf(() => transport.publish([itemEvent('d', 1), reused]))).toBe(
      'DUPLICATE_EVENT_ID',
    );
    expect(await store.headPosition()).toBe('3');
    expect((await transport.publish([])).positions).toEqual([]);
  });

  it('rejects bad options and bad subscriptions with INVALID_ARGUMENT, and use after close with STORE_CLOSED', async () => {
    const store = openStore();
    expect(await codeOf(() => createSqliteTransport({ store, partitions: 0 }))).toBe(
      'INVALID_ARGUMENT',
    );
    expect(await codeOf(() => createSqliteTransport({ store, leaseMs: 1.5 }))).toBe(
      'INVALID_ARGUMENT',
    );
    expect(await codeOf(() => createSqliteTransport({ store: {} as never }))).toBe(
      'INVALID_ARGUMENT',
    );
    expect(await codeOf(() => createSqliteTransport({ store, startFrom: 'middle' as 'end' }))).toBe(
      'INVALID_ARGUMENT',
    );

    const transport = openTransport(store);
    const { handler } = recorder();
    const topics = ['test.*'];
    expect(await codeOf(() => transport.subscribe('Bad Group', handler, { topics }))).toBe(
      'INVALID_ARGUMENT',
    );
    expect(await codeOf(() => transport.subscribe('svc.bad', handler, { topics: [] }))).toBe(
      'INVALID_ARGUMENT',
    );
    expect(
      await codeOf(() => transport.subscribe('svc.bad', handler, { topics: ['test..x'] })),
    ).toBe('INVALID_ARGUMENT');
    expect(
      await codeOf(() => transport.subscribe('svc.bad', handler, { topics, prefetch: 0 })),
    ).toBe('INVALID_ARGUMENT');
    expect(await codeOf(() => transport.subscribe('svc.bad', 'no' as never, { topics }))).toBe(
      'INVALID_ARGUMENT',
    );
    // Nothing was created for the rejected subscriptions.
    expect(store.db.prepare('SELECT count(*) FROM consumer_groups').pluck().get()).toBe(0);

    const subscription = await transport.subscribe('svc.ok', handler, { topics });
    await subscription.close();
    await subscription.close();
    await transport.close();
    await transport.close();
    expect(await codeOf(() => transport.publish([itemEvent('a', 0)]))).toBe('STORE_CLOSED');
    expect(await codeOf(() => transport.subscribe('svc.ok', handler, { topics }))).toBe(
      'STORE_CLOSED',
    );
    // The store belongs to the caller and stays open.
    expect(await store.headPosition()).toBe('0');
  });

  it('given two members of one group, then they split the partitions and each event is handled once', async () => {
    const path = tempDbPath();
    const store = openStore(path);
    const a = openTransport(store, { consumerId: 'a' });
    const b = openTransport(openStore(path), { consumerId: 'b' });
    const handled = new Map<string, string[]>();
    const handlerOf =
      (name: string): DeliveryHandler =>
      async (delivery) => {
        handled.set(delivery.event.id, [...(handled.get(delivery.event.id) ?? []), name]);
        await delivery.ack();
      };
    const first = await a.subscribe('svc.compete', handlerOf('a'), { topics: ['test.*'] });
    const second = await b.subscribe('svc.compete', handlerOf('b'), { topics: ['test.*'] });
    await until(
      () => first.partitions().length === 8 && second.partitions().length === 8,
      5000,
      'an even split',
    );
    expect([...first.partitions(), ...second.partitions()].sort((x, y) => x - y)).toEqual(
      Array.from({ length: 16 }, (_, i) => i),
    );
    const events = Array.from({ length: 400 }, (_, i) => itemEvent(`k${i % 40}`, i));
    await a.publish(events);
    await until(() => handled.size === 400, 5000, 'every event handled');
    await sleep(100);
    const byWhom = [...handled.values()];
    expect(byWhom.every((names) => names.length === 1)).toBe(true);
    expect(byWhom.filter(([name]) => name === 'a').length).toBeGreaterThan(0);
    expect(byWhom.filter(([name]) => name === 'b').length).toBeGreaterThan(0);

    // When one leaves, the other takes every partition back.
    await second.close();
    await until(() => first.partitions().length === 16, 3000, 'the takeover');
  });

  it('given two groups, then each receives every event (fan-out)', async () => {
    const store = openStore();
    const transport = openTransport(store);
    const one = recorder();
    const two = recorder();
    await transport.subscribe('svc.one', one.handler, { topics: ['test.*'] });
    await transport.subscribe('svc.two', two.handler, { topics: ['test.item.added.v1'] });
    await transport.publish(Array.from({ length: 30 }, (_, i) => itemEvent(`k${i % 3}`, i)));
    await until(() => one.seen.length === 30 && two.seen.length === 30, 3000, 'both groups');
    expect(new Set(one.seen.map((d) => d.event.id))).toEqual(
      new Set(two.seen.map((d) => d.event.id)),
    );
  });

  it('given a nack with a delay, then that key waits behind it while other keys flow, and the redelivery counts 2', async () => {
    const store = openStore();
    const transport = openTransport(store);
    const log: { at: number; key: string; i: number; count: number }[] = [];
    let nackedAt = 0;
    await transport.subscribe(
      'svc.nack',
      async (delivery) => {
        const { key, i } = delivery.event.data as { key: string; i: number };
        log.push({ at: Date.now(), key, i, count: delivery.deliveryCount });
        if (key === 'slow' && i === 0 && delivery.deliveryCount === 1) {
          nackedAt = Date.now();
          await delivery.nack({ delayMs: 300 });
          return;
        }
        await delivery.ack();
      },
      { topics: ['test.*'], concurrency: 4 },
    );
    await transport.publish([itemEvent('slow', 0), itemEvent('slow', 1), itemEvent('fast', 0)]);
    await until(() => log.length === 4, 3000, 'four deliveries');
    const slow = log.filter((d) => d.key === 'slow');
    expect(slow.map((d) => [d.i, d.count])).toEqual([
      [0, 1],
      [0, 2],
      [1, 1],
    ]);
    expect(slow[1]!.at - nackedAt).toBeGreaterThanOrEqual(295);
    expect(slow[1]!.at - nackedAt).toBeLessThan(1000);
    const fast = log.find((d) => d.key === 'fast')!;
    expect(fast.at).toBeLessThan(slow[1]!.at);
    // A handler that throws or returns without settling counts as a nack; a bad delay is refused.
    const attempts = new Map<string, number[]>();
    let badDelay: string | undefined;
    await transport.subscribe(
      'svc.throws',
      async (delivery) => {
        const id = delivery.event.id;
        attempts.set(id, [...(attempts.get(id) ?? []), delivery.deliveryCount]);
        if (delivery.deliveryCount === 1) throw new Error('boom');
        if (delivery.deliveryCount === 2) {
          badDelay = await codeOf(() => delivery.nack({ delayMs: -1 }));
          return;
        }
        await delivery.ack();
      },
      { topics: ['test.item.added.v1'] },
    );
    await until(
      () => [...attempts.values()].filter((a) => a.length === 3).length === 3,
      3000,
      'three attempts of each event',
    );
    await sleep(50);
    expect([...attempts.values()]).toEqual([
      [1, 2, 3],
      [1, 2, 3],
      [1, 2, 3],
    ]);
    expect(badDelay).toBe('INVALID_ARGUMENT');
  });

  it('given concurrency 8, then a key never runs twice at once and each key sees its events in publish order', async () => {
    const store = openStore();
    const transport = openTransport(store);
    const running = new Set<string>();
    const seen = new Map<string, number[]>();
    let overlaps = 0;
    let maxParallel = 0;
    let handled = 0;
    await transport.subscribe(
      'svc.order',
      async (delivery) => {
        const { key, i } = delivery.event.data as { key: string; i: number };
        if (running.has(key)) overlaps++;
        running.add(key);
        maxParallel = Math.max(maxParallel, running.size);
        await sleep(Math.random() * 3);
        seen.set(key, [...(seen.get(key) ?? []), i]);
        running.delete(key);
        // Every fifth event fails once: order must survive redeliveries too.
        if (i % 5 === 0 && delivery.deliveryCount === 1) return delivery.nack();
        handled++;
        await delivery.ack();
      },
      { topics: ['test.*'], concurrency: 8 },
    );
    const keys = 20;
    const perKey = 15;
    const events = [];
    for (let i = 0; i < perKey; i++)
      for (let k = 0; k < keys; k++) events.push(itemEvent(`k${k}`, i));
    await transport.publish(events);
    await until(() => handled === keys * perKey, 8000, 'every event');
    expect(overlaps).toBe(0);
    expect(maxParallel).toBeGreaterThan(1);
    for (const [, order] of seen) {
      const firstTimes = order.filter((i, n) => order.indexOf(i) === n);
      expect(firstTimes).toEqual(Array.from({ length: perKey }, (_, i) => i));
    }
  });

  it('given a group that handled events, when everything reopens, then it resumes from its checkpoint; a group starting at the end skips the past', async () => {
    const path = tempDbPath();
    const store = createSqliteEventStore({ path });
    const transport = createSqliteTransport({ store });
    const first = recorder();
    await transport.publish(Array.from({ length: 10 }, (_, i) => itemEvent(`k${i % 4}`, i)));
    await transport.subscribe('svc.resume', first.handler, { topics: ['test.*'] });
    await until(() => first.seen.length === 10, 3000, 'the first ten');
    await transport.close();
    await store.close();

    const reopened = openStore(path);
    const again = openTransport(reopened, { startFrom: 'end' });
    await again.publish(Array.from({ length: 5 }, (_, i) => itemEvent(`k${i % 4}`, 10 + i)));
    const second = recorder();
    await again.subscribe('svc.resume', second.handler, { topics: ['test.*'] });
    const late = recorder();
    await again.subscribe('svc.late', late.handler, { topics: ['test.*'] });
    await until(() => second.seen.length === 5, 3000, 'the next five');
    await again.publish([itemEvent('k9', 99)]);
    await until(() => late.seen.length === 1 && second.seen.length === 6, 3000, 'the live event');
    await sleep(50);
    // Keys run in parallel partitions: compare as sets.
    expect(second.seen.map((d) => (d.event.data as { i: number }).i).sort((x, y) => x - y)).toEqual(
      [10, 11, 12, 13, 14, 99],
    );
    expect(late.seen.map((d) => (d.event.data as { i: number }).i)).toEqual([99]);
  });

  it('assigns partitions by FNV-1a 32 of the UTF-8 partition key, a format stored in every database', () => {
    expect([fnv1a32(''), fnv1a32('a'), fnv1a32('foobar')]).toEqual([
      0x811c9dc5, 0xe40c292c, 0xbf9cf968,
    ]);
    // Non-ASCII keys hash their UTF-8 bytes: "é" is 0xc3 0xa9.
    expect(fnv1a32('é')).toBe(
      Math.imul(Math.imul(0x811c9dc5 ^ 0xc3, 0x01000193) ^ 0xa9, 0x01000193) >>> 0,
    );
    expect(partitionOf('contribution-42', 16)).toBe(fnv1a32('contribution-42') % 16);
  });

  it('given an event nacked with a delay whose member closes, then the next member keeps its count and its delay', async () => {
    const path = tempDbPath();
    const a = openTransport(openStore(path));
    const counts: string[] = [];
    const first = await a.subscribe(
      'svc.handover',
      async (delivery) => {
        counts.push(`a${delivery.deliveryCount}`);
        await delivery.nack({ delayMs: delivery.deliveryCount === 1 ? 0 : 300 });
      },
      { topics: ['test.*'] },
    );
    await a.publish([itemEvent('x', 0)]);
    await until(() => counts.length === 2, 3000, 'two deliveries to A');
    const nackedAt = Date.now();
    await first.close();
    const b = openTransport(openStore(path));
    let redeliveredAt = 0;
    await b.subscribe(
      'svc.handover',
      async (delivery) => {
        counts.push(`b${delivery.deliveryCount}`);
        redeliveredAt = Date.now();
        await delivery.ack();
      },
      { topics: ['test.*'] },
    );
    await until(() => counts.length === 3, 3000, 'the delivery to B');
    expect(counts).toEqual(['a1', 'a2', 'b3']);
    expect(redeliveredAt - nackedAt).toBeGreaterThanOrEqual(280);
  });

  it('given a member process killed with SIGKILL, then another member takes its partitions after the lease and counts the lost delivery', async () => {
    const path = tempDbPath();
    const effects = join(dirname(path), 'effects.db');
    const store = openStore(path);
    const transport = openTransport(store, { leaseMs: 600, consumerId: 'survivor' });
    const events = Array.from({ length: 60 }, (_, i) => itemEvent(`k${i % 6}`, i));
    await transport.publish(events);

    const worker = startConsumer(path, effects, 'svc.takeover', 'doomed', {
      leaseMs: 600,
      handleMs: 30,
    });
    await worker.ready;
    await until(() => countEffects(effects) >= 10, 5000, 'the worker to handle some');
    worker.child.kill('SIGKILL');
    await worker.exited;
    const killedAt = Date.now();
    const byWorker = new Set(readEffects(effects).map((row) => row.event_id));

    const seen: { id: string; count: number; at: number }[] = [];
    await transport.subscribe(
      'svc.takeover',
      async (delivery) => {
        seen.push({ id: delivery.event.id, count: delivery.deliveryCount, at: Date.now() });
        await delivery.ack();
      },
      { topics: ['test.*'] },
    );
    await until(
      () => new Set([...byWorker, ...seen.map((s) => s.id)]).size === 60,
      5000,
      'every event handled by one or the other',
    );
    // The dead worker's leases had to expire first.
    expect(seen[0]!.at - killedAt).toBeGreaterThanOrEqual(300);
    // The event the worker was handling when it died comes back counted as a second delivery.
    const redelivered = seen.filter((s) => byWorker.has(s.id));
    expect(redelivered.length).toBeGreaterThan(0);
    expect(redelivered.every((s) => s.count === 2)).toBe(true);
    expect(seen.filter((s) => !byWorker.has(s.id)).every((s) => s.count <= 2)).toBe(true);
  });
});
