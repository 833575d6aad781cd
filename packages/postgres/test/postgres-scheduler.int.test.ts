import { afterAll, expect, it } from 'vitest';
import { describeScheduledMessageStoreConformance } from '@eventfabric/conformance';
import { createEvent, startScheduler } from '@eventfabric/core';
import {
  createPostgresEventStore,
  PostgresScheduledMessages,
  type PostgresEventStore,
} from '../src/index.js';
import { describeWithPostgres, dropSchemas, testSchemaName, TEST_PG_URL } from './pg-available.js';

const schemas = new Set<string>();
const stores: PostgresEventStore[] = [];

async function freshStore(): Promise<PostgresEventStore> {
  const schema = testSchemaName('ef_sched');
  schemas.add(schema);
  const store = await createPostgresEventStore({
    connectionString: TEST_PG_URL,
    schema,
    poolSize: 6,
  });
  stores.push(store);
  return store;
}

async function until(condition: () => boolean | Promise<boolean>, what: string, ms = 10_000) {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describeWithPostgres('scheduled messages on PostgreSQL', () => {
  afterAll(async () => {
    await Promise.all(stores.map((s) => s.close()));
    await dropSchemas(schemas);
  });

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
