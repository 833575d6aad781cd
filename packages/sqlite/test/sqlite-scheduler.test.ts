import { afterEach, describe, expect, it } from 'vitest';
import { describeScheduledMessageStoreConformance } from '@eventfabric/conformance';
import {
  createEvent,
  isEventFabricError,
  startScheduler,
  type CloudEvent,
  type Scheduler,
} from '@eventfabric/core';
import {
  createSqliteEventStore,
  SqliteScheduledMessages,
  type SqliteEventStore,
} from '../src/index.js';
import { tempDbPath } from './fixtures/transport-helpers.js';

describeScheduledMessageStoreConformance('sqlite', {
  create: () => new SqliteScheduledMessages(tempDbPath('ef-schedule-')),
});

const schedulers: Scheduler[] = [];
const stores: SqliteEventStore[] = [];
afterEach(async () => {
  await Promise.all(schedulers.splice(0).map((s) => s.stop()));
  await Promise.all(stores.splice(0).map((s) => s.close()));
});

function reminder(n: number): CloudEvent {
  return createEvent({
    type: 'test.reminder.due.v1',
    source: '/t',
    subject: `reminder-${n}`,
    data: { n },
  });
}

async function until(condition: () => boolean | Promise<boolean>, what: string, ms = 5000) {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('scheduled messages on SQLite', () => {
  it('appends a scheduled event to the log when due, not before', async () => {
    const path = tempDbPath('ef-schedule-');
    const store = createSqliteEventStore({ path });
    stores.push(store);
    const scheduler = await startScheduler({
      storage: new SqliteScheduledMessages(store),
      deliver: (events) => store.appendMany(events),
      pollMs: 50,
    });
    schedulers.push(scheduler);
    const event = reminder(1);
    const scheduledAt = Date.now();
    await scheduler.schedule(event, { delayMs: 300 });
    await until(async () => (await store.readAll()).length === 1, 'the delivery');
    const [stored] = await store.readAll();
    expect(Date.now() - scheduledAt).toBeGreaterThanOrEqual(300);
    expect(stored!.id).toBe(event.id);
    expect(stored!.subject).toBe('reminder-1');
    expect(scheduler.delivered).toBe(1);
  });

  it('survives a restart: a schedule made before it is delivered by the next scheduler, once', async () => {
    const path = tempDbPath('ef-schedule-');
    const store = createSqliteEventStore({ path });
    stores.push(store);
    const first = await startScheduler({
      storage: new SqliteScheduledMessages(store),
      deliver: (events) => store.appendMany(events),
      pollMs: 50,
    });
    const events = [reminder(1), reminder(2)];
    await first.schedule(events[0]!, { delayMs: 200 });
    await first.schedule(events[1]!, { at: new Date(Date.now() + 250) });
    await first.stop();
    const second = await startScheduler({
      storage: new SqliteScheduledMessages(path),
      deliver: (batch) => store.appendMany(batch),
      pollMs: 50,
    });
    schedulers.push(second);
    await until(() => second.delivered === 2, 'both deliveries');
    expect((await store.readAll()).map((e) => e.id)).toEqual(events.map((e) => e.id));
    expect(await new SqliteScheduledMessages(store).list(10)).toEqual([]);
  });

  it('delivers each of 60 events once across two schedulers sharing the file', async () => {
    const path = tempDbPath('ef-schedule-');
    const store = createSqliteEventStore({ path });
    stores.push(store);
    const calls: string[] = [];
    const make = () =>
      startScheduler({
        storage: new SqliteScheduledMessages(path),
        deliver: async (events) => {
          calls.push(...events.map((e) => e.id));
          await store.appendMany(events);
        },
        pollMs: 20,
        batchSize: 7,
      });
    const a = await make();
    const b = await make();
    schedulers.push(a, b);
    const events = Array.from({ length: 60 }, (_, n) => reminder(n));
    await Promise.all(events.map((e, n) => a.schedule(e, { delayMs: 50 + (n % 5) * 20 })));
    await until(() => a.delivered + b.delivered === 60, 'every delivery');
    // Each event was handed to exactly one scheduler once (which one is up to timing).
    expect(calls.sort()).toEqual(events.map((e) => e.id).sort());
    expect(a.delivered + b.delivered).toBe(60);
  });

  it('cancels a waiting event, and rejects malformed input without storing anything', async () => {
    const path = tempDbPath('ef-schedule-');
    const storage = new SqliteScheduledMessages(path);
    const delivered: CloudEvent[] = [];
    const scheduler = await startScheduler({
      storage,
      deliver: async (events) => void delivered.push(...events),
      pollMs: 20,
    });
    schedulers.push(scheduler);
    const kept = reminder(1);
    const cancelled = reminder(2);
    await scheduler.schedule(kept, { delayMs: 100 });
    await scheduler.schedule(cancelled, { delayMs: 100 });
    expect(await scheduler.cancel(cancelled.id)).toBe(true);
    const bad: [unknown, unknown, string][] = [
      [{ ...reminder(3), specversion: '0.3' }, { delayMs: 10 }, 'INVALID_EVENT'],
      [reminder(4), { delayMs: -1 }, 'INVALID_ARGUMENT'],
      [reminder(5), { delayMs: Number.NaN }, 'INVALID_ARGUMENT'],
      [reminder(6), { at: 'tomorrow' }, 'INVALID_ARGUMENT'],
      [reminder(7), undefined, 'INVALID_ARGUMENT'],
    ];
    for (const [event, when, code] of bad) {
      const error = await scheduler
        .schedule(event as CloudEvent, when as { delayMs: number })
        .catch((e: unknown) => e);
      expect(isEventFabricError(error, code), code).toBe(true);
    }
    expect((await storage.list(10)).map((m) => m.id)).toEqual([kept.id]);
    await until(() => delivered.length === 1, 'the kept event');
    await new Promise((r) => setTimeout(r, 150));
    expect(delivered.map((e) => e.id)).toEqual([kept.id]);
  });
});
