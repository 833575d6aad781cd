import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createEvent } from '@eventfabric/core';
import { createSqliteEventStore, createSqliteTransport } from '../src/index.js';
import {
  countEffects,
  readEffects,
  startConsumer,
  waitForCount,
} from './fixtures/consumer-process.js';
import { itemEvent, tempDbPath } from './fixtures/transport-helpers.js';

// Child processes run the built packages: `npx tsc -b packages/sqlite` first.

/** Publish `total` events over `keys` partition keys; returns their ids. */
async function seed(path: string, total: number, keys: number): Promise<string[]> {
  const store = createSqliteEventStore({ path });
  const transport = createSqliteTransport({ store });
  const ids: string[] = [];
  for (let start = 0; start < total; start += 500) {
    const batch = Array.from({ length: Math.min(500, total - start) }, (_, i) =>
      itemEvent(`k${(start + i) % keys}`, start + i),
    );
    await transport.publish(batch);
    ids.push(...batch.map((e) => e.id));
  }
  await transport.close();
  await store.close();
  return ids;
}

/** Which member of a group holds each partition, read from the group table. */
function owners(path: string, group: string): (string | null)[] {
  const store = createSqliteEventStore({ path });
  try {
    return store.db
      .prepare(
        'SELECT owner FROM consumer_partitions WHERE group_name = ? AND lease_until > ? ORDER BY partition',
      )
      .pluck()
      .all(group, Date.now()) as (string | null)[];
  } finally {
    void store.close();
  }
}

describe('SqliteTransport under crashes and several processes', () => {
  it('given a consumer killed with SIGKILL three times at random points, then all 5 000 events are handled and duplicates stay within kills × (checkpoint batch + 2 × concurrency)', async () => {
    const path = tempDbPath('ef-transport-crash-');
    const effects = join(dirname(path), 'effects.db');
    const total = 5000;
    const concurrency = 4;
    const checkpointEvery = 100;
    const ids = await seed(path, total, 50);

    const kills: number[] = [];
    for (let round = 0; round < 3; round++) {
      // A stable consumer id: the restarted process takes its partitions back at once.
      const worker = startConsumer(path, effects, 'svc.crash', 'crash-consumer', { concurrency });
      await worker.ready;
      const target = Math.min(
        total - 200,
        countEffects(effects) + 100 + Math.floor(Math.random() * 1300),
      );
      await waitForCount(() => countEffects(effects), target, 20_000, worker.exited);
      worker.child.kill('SIGKILL');
      await worker.exited;
      kills.push(countEffects(effects));
    }
    const last = startConsumer(path, effects, 'svc.crash', 'crash-consumer', { concurrency });
    await last.ready;
    await waitForCount(() => countEffects(effects), total, 20_000, last.exited);
    last.child.kill('SIGTERM');
    expect(await last.exited).toBe(0);

    const rows = readEffects(effects);
    expect(rows.map((r) => r.event_id).sort()).toEqual([...ids].sort());
    const duplicates = rows.reduce((sum, r) => sum + r.attempts - 1, 0);
    console.log(
      `crash test: killed after ${kills.join(', ')} effects; ${duplicates} duplicate handlings`,
    );
    // Per kill: acks not yet checkpointed (a batch, plus the few that land between the batch
    // filling and its write starting) and handlings in flight.
    expect(duplicates).toBeLessThanOrEqual(kills.length * (checkpointEvery + 2 * concurrency));
    // Every redelivery after a crash says so.
    expect(rows.filter((r) => r.attempts > 1).every((r) => r.last_count >= 2)).toBe(true);
  }, 45_000);

  it('given an event that kills its consumer, then its deliveryCount climbs with every crash', async () => {
    const path = tempDbPath('ef-transport-poison-');
    const effects = join(dirname(path), 'effects.db');
    const store = createSqliteEventStore({ path });
    const transport = createSqliteTransport({ store });
    const before = Array.from({ length: 30 }, (_, i) => itemEvent(`k${i % 3}`, i));
    const poison = createEvent({
      type: 'test.item.added.v1',
      source: '/transport-test',
      subject: 'item-k0',
      data: { key: 'k0', i: 30, poison: true },
    });
    const after = Array.from({ length: 30 }, (_, i) => itemEvent(`k${i % 3}`, 31 + i));
    await transport.publish([...before, poison, ...after]);
    await transport.close();
    await store.close();

    const counts: number[] = [];
    for (let run = 1; run <= 4; run++) {
      const worker = startConsumer(path, effects, 'svc.poison', 'poison-consumer', {
        crashOnPoison: true,
      });
      expect(await worker.exited).toBe('SIGKILL');
      const row = readEffects(effects).find((r) => r.event_id === poison.id)!;
      counts.push(row.last_count);
    }
    expect(counts).toEqual([1, 2, 3, 4]);

    // A fixed consumer handles it, counted as the fifth delivery, and the events behind it.
    const fixed = startConsumer(path, effects, 'svc.poison', 'poison-consumer');
    await fixed.ready;
    await waitForCount(() => countEffects(effects), 61, 10_000, fixed.exited);
    fixed.child.kill('SIGTERM');
    expect(await fixed.exited).toBe(0);
    const rows = readEffects(effects);
    expect(rows.find((r) => r.event_id === poison.id)!.last_count).toBe(5);
    // Order per key held: nothing of k0 after the poison ran before it was handled.
    const k0After = after.filter((e) => e.data.key === 'k0').map((e) => e.id);
    expect(rows.filter((r) => k0After.includes(r.event_id)).every((r) => r.attempts === 1)).toBe(
      true,
    );
  }, 30_000);

  it('given two consumer processes in one group, one joining mid-stream, then they split the work and every event is handled exactly once', async () => {
    const path = tempDbPath('ef-transport-multi-');
    const effects = join(dirname(path), 'effects.db');
    const total = 3000;
    const ids = await seed(path, total, 64);

    const a = startConsumer(path, effects, 'svc.multi', 'a', { concurrency: 2, handleMs: 1 });
    await a.ready;
    await waitForCount(() => countEffects(effects), 300, 10_000, a.exited);
    const b = startConsumer(path, effects, 'svc.multi', 'b', { concurrency: 2, handleMs: 1 });
    await b.ready;
    await waitForCount(
      () => {
        const held = owners(path, 'svc.multi');
        return held.filter((o) => o === 'a/0').length === 8 &&
          held.filter((o) => o === 'b/0').length === 8
          ? 1
          : 0;
      },
      1,
      5000,
    );
    await waitForCount(() => countEffects(effects), total, 20_000);
    a.child.kill('SIGTERM');
    b.child.kill('SIGTERM');
    expect([await a.exited, await b.exited]).toEqual([0, 0]);

    const rows = readEffects(effects);
    expect(rows.map((r) => r.event_id).sort()).toEqual([...ids].sort());
    expect(rows.filter((r) => r.member === 'a').length).toBeGreaterThan(300);
    expect(rows.filter((r) => r.member === 'b').length).toBeGreaterThan(0);
    // The hand-over wrote its checkpoints before releasing: nothing ran twice.
    expect(rows.filter((r) => r.attempts > 1)).toEqual([]);
  }, 40_000);
});
