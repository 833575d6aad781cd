import { Registry } from 'prom-client';
import { afterAll, expect, it } from 'vitest';
import { createEvent } from '@eventfabric/core';
import { createPostgresEventStore, registerHorizonMetrics, withTransaction } from '../src/index.js';
import { describeWithPostgres, dropSchemas, testSchemaName, TEST_PG_URL } from './pg-available.js';

const schemas: string[] = [];
afterAll(() => dropSchemas(schemas));

async function gauge(registry: Registry, name: string): Promise<number | undefined> {
  return (await registry.getSingleMetric(name)!.get()).values[0]?.value;
}

describeWithPostgres('postgres horizon metrics', () => {
  it('reports no blocker, then the age and count of an open writer, then none again', async () => {
    const schema = testSchemaName();
    schemas.push(schema);
    const store = await createPostgresEventStore({
      connectionString: TEST_PG_URL,
      schema,
      poolSize: 3,
    });
    const registry = new Registry();
    registerHorizonMetrics(store, registry);
    expect(await gauge(registry, 'eventfabric_subscription_horizon_blockers')).toBe(0);
    expect(await gauge(registry, 'eventfabric_subscription_horizon_age_seconds')).toBe(0);

    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let appended!: () => void;
    const inside = new Promise<void>((r) => (appended = r));
    const open = withTransaction(store, async (tx) => {
      await tx.appendToStream('order-1', [
        createEvent({ type: 'test.order.placed.v1', source: '/t', subject: 'order-1', data: {} }),
      ]);
      appended();
      await held;
    });
    await inside;
    await new Promise((r) => setTimeout(r, 1100)); // past the one-second read cache, and some age
    expect(await gauge(registry, 'eventfabric_subscription_horizon_blockers')).toBe(1);
    expect(
      await gauge(registry, 'eventfabric_subscription_horizon_age_seconds'),
    ).toBeGreaterThanOrEqual(1);
    expect(await registry.metrics()).toContain(
      `eventfabric_subscription_horizon_blockers{schema="${schema}"} 1`,
    );

    release();
    await open;
    await new Promise((r) => setTimeout(r, 1100));
    expect(await gauge(registry, 'eventfabric_subscription_horizon_blockers')).toBe(0);
    expect(await gauge(registry, 'eventfabric_subscription_horizon_age_seconds')).toBe(0);
    await store.close();
  });
});
