import { afterAll, expect, it } from 'vitest';
import { createEvent, createRelay, type CloudEvent, type Relay } from '@eventfabric/core';
import { describeRelayCheckpointStoreConformance } from '@eventfabric/conformance';
import { createPostgresQueueTransport, PostgresRelayCheckpoints } from '../src/index.js';
import { describeWithPostgres, freshStores, TEST_PG_URL, until } from './pg-available.js';

const stores = freshStores('ef_relay');
const freshStore = () => stores.open();

describeWithPostgres('postgres relay', () => {
  afterAll(() => stores.cleanup());

  describeRelayCheckpointStoreConformance('postgres', {
    create: async () => new PostgresRelayCheckpoints(await freshStore()),
  });

  it('feeds a group queue from the log: every event once, each stream in order, across two relay instances', async () => {
    const store = await freshStore();
    const transport = await createPostgresQueueTransport({
      connectionString: TEST_PG_URL,
      schema: store.schema,
      poolSize: 4,
      migrate: false,
    });
    const checkpoints = new PostgresRelayCheckpoints(store);
    const received: CloudEvent[] = [];
    const subscription = await transport.subscribe(
      'shop.mailer',
      async (delivery) => {
        received.push(delivery.event);
        await delivery.ack();
      },
      { topics: ['shop.order.*'], concurrency: 4 },
    );
    const relays: Relay[] = [];
    for (const owner of ['a', 'b']) {
      relays.push(
        await createRelay({
          name: 'group:shop.mailer',
          owner,
          store,
          checkpoints,
          topics: ['shop.order.*'],
          batchSize: 50,
          leaseMs: 1000,
          forward: (events) => transport.enqueueTo('shop.mailer', events),
        }),
      );
    }
    try {
      expect(relays.map((r) => r.active)).toEqual([true, false]);
      // 20 streams x 10 events, appended concurrently, with other types in between.
      await Promise.all(
        Array.from({ length: 20 }, async (_, s) => {
          for (let n = 0; n < 10; n++) {
            await store.appendToStream(`order-${s}`, [
              createEvent({
                type: 'shop.order.placed.v1',
                source: '/t',
                subject: `order-${s}`,
                data: { s, n },
              }),
              createEvent({
                type: 'shop.audit.logged.v1',
                source: '/t',
                subject: `order-${s}`,
                data: { s, n },
              }),
            ]);
          }
        }),
      );
      await until(() => received.length >= 200, '200 deliveries');
      // The active relay hands over mid-run: the standby continues from the checkpoint.
      await relays[0]!.stop();
      await store.appendToStream('order-late', [
        createEvent({
          type: 'shop.order.placed.v1',
          source: '/t',
          subject: 'order-late',
          data: { s: 99, n: 0 },
        }),
      ]);
      await until(() => received.length >= 201, 'the late event via the standby');
      await new Promise((r) => setTimeout(r, 200));
      expect(received).toHaveLength(201);
      expect(new Set(received.map((e) => e.id)).size).toBe(201);
      expect(received.every((e) => e.type === 'shop.order.placed.v1')).toBe(true);
      for (let s = 0; s < 20; s++) {
        const ns = received
          .filter((e) => e.subject === `order-${s}`)
          .map((e) => (e.data as { n: number }).n);
        expect(ns).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      }
      expect(relays[0]!.forwarded).toBe(200);
      expect(relays[1]!.forwarded).toBe(1);
    } finally {
      await Promise.all(relays.map((r) => r.stop()));
      await subscription.close();
      await transport.close();
    }
  });
});
