import { afterAll, afterEach, beforeEach, expect, it } from 'vitest';
import { createEvent } from '@eventfabric/core';
import {
  createPostgresLogTransport,
  type PostgresEventStore,
  type PostgresLogTransport,
} from '@eventfabric/postgres';
import { describeWithPostgres, freshStores } from '../../postgres/test/pg-available.js';
import {
  WebhookService,
  createPostgresWebhookStore,
  startWebhookEngine,
  type WebhookEngine,
} from '../src/index.js';
import { ALLOW_LOOPBACK } from './harness.js';
import { Receiver, until } from './receiver.js';

describeWithPostgres('webhook engine on PostgreSQL', () => {
  const stores = freshStores('ef_webhooks_engine', 6);
  let store: PostgresEventStore;
  let transport: PostgresLogTransport;
  let engine: WebhookEngine | undefined;
  let receiver: Receiver;
  afterAll(() => stores.cleanup());

  beforeEach(async () => {
    store = await stores.open();
    transport = await createPostgresLogTransport({ store });
    receiver = new Receiver();
    await receiver.start();
  });
  afterEach(async () => {
    await engine?.stop();
    engine = undefined;
    await transport.close();
    await receiver.close();
  });

  it('given an ordered subscription whose endpoint fails twice, then its events arrive in log order after the retries', async () => {
    const webhooks = createPostgresWebhookStore(store);
    const service = new WebhookService({ store: webhooks, events: store, allow: ALLOW_LOOPBACK });
    const subscription = await service.create('acme', { url: receiver.url, ordered: true });
    receiver.cues.push({ status: 500 }, { status: 502 });
    engine = await startWebhookEngine({
      store: webhooks,
      transport,
      allow: ALLOW_LOOPBACK,
      retrySchedule: [100, 100, 100],
      jitter: 0,
      pollMs: 20,
    });
    const events = Array.from({ length: 4 }, (_, i) =>
      createEvent({
        type: 'shop.order.placed.v1',
        source: '/shop',
        subject: `order-${i}`,
        data: { i },
        tenantid: 'acme',
      }),
    );
    await store.appendMany(events);
    await until(() => receiver.received.length === 6, 'four deliveries after two failures', 20_000);
    const ids = receiver.received.map((r) => r.headers['webhook-id']);
    expect(ids).toEqual([events[0]!.id, events[0]!.id, ...events.map((e) => e.id)]);
    await until(
      async () =>
        (await service.deliveries('acme', subscription.id)).every((d) => d.status === 'delivered'),
      'every delivery settled',
    );
    expect(await webhooks.pendingCount()).toBe(0);
  });
});
