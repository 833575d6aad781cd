import { afterAll, expect, it } from 'vitest';
import { describeScheduledMessageStoreConformance } from '@eventfabric/conformance';
import { createEvent, startScheduler } from '@eventfabric/core';
import { PostgresScheduledMessages } from '../src/index.js';
import { describeWithPostgres, freshStores, until } from './pg-available.js';

const stores = freshStores('ef_sched');
const freshStore = () => stores.open();

describeWithPostgres('scheduled messages on PostgreSQL', () => {
  afterAll(() => stores.cleanup());

  describeScheduledMessageStoreConformance('postgres', {
    create: async () => new PostgresScheduledMessages(await freshStore()),
  });

  it('delivers each of 60 events once across two schedulers, into the log, when due', async () => {
    const store = await freshStore();
    const calls: string[] = [];
    const times: number[] = [];
    const make = () =>
      startScheduler({
        storage: new PostgresScheduledMessages(store),
        deliver: async (events) => {
          calls.push(...events.map((e) => e.id));
          times.push(Date.now());
          await store.appendMany(events);
        },
        pollMs: 20,
        batchSize: 7,
      });
    const [a, b] = [await make(), await make()];
    try {
      const events = Array.from({ length: 60 }, (_, n) =>
        createEvent({ type: 'test.reminder.due.v1', source: '/t', subject: `r-${n}`, data: { n } }),
      );
      const scheduledAt = Date.now();
      await Promise.all(events.map((e, n) => a.schedule(e, { delayMs: 100 + (n % 3) * 50 })));
      await until(() => a.delivered + b.delivered === 60, 'every delivery');
      expect(calls.sort()).toEqual(events.map((e) => e.id).sort());
      const stored = await store.readAll({ limit: 100 });
      expect(stored.map((e) => e.id).sort()).toEqual(events.map((e) => e.id).sort());
      // Nothing went before its time: the earliest was due 100 ms after scheduling.
      expect(Math.min(...times)).toBeGreaterThanOrEqual(scheduledAt + 100);
      expect(await new PostgresScheduledMessages(store).list(10)).toEqual([]);
    } finally {
      await a.stop();
      await b.stop();
    }
  });
});
