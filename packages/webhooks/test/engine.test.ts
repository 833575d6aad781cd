import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createEvent } from '@eventfabric/core';
import { createSqliteTransport, type SqliteTransport } from '@eventfabric/sqlite';
import { startWebhookEngine, type WebhookEngine } from '../src/index.js';
import { ALLOW_LOOPBACK, openFixture, type Fixture } from './harness.js';
import { Receiver, until } from './receiver.js';

const order = (tenant: string | undefined, type = 'shop.order.placed.v1', time?: string) =>
  createEvent({
    type,
    source: '/shop',
    subject: 'order-1',
    data: {},
    ...(tenant === undefined ? {} : { tenantid: tenant }),
    ...(time === undefined ? {} : { time }),
  });

describe('webhook engine over the SQLite log transport', () => {
  let f: Fixture;
  let receiver: Receiver;
  let transport: SqliteTransport;
  let engine: WebhookEngine | undefined;

  beforeEach(async () => {
    f = openFixture();
    receiver = new Receiver();
    await receiver.start();
    transport = createSqliteTransport({ store: f.events });
  });
  afterEach(async () => {
    await engine?.stop();
    engine = undefined;
    await transport.close();
    await receiver.close();
    await f.close();
  });

  const start = async () => {
    engine = await startWebhookEngine({
      store: f.store,
      transport,
      allow: ALLOW_LOOPBACK,
      pollMs: 20,
    });
  };

  it("given subscriptions of two tenants with type filters, then each gets only its tenant's matching events, once", async () => {
    const acme = await f.service.create('acme', { url: receiver.url, types: ['shop.order.*'] });
    await f.service.create('globex', { url: `${receiver.url}?t=globex` });
    await start();
    const events = [
      order('acme'),
      order('acme', 'shop.invoice.sent.v1'),
      order('globex'),
      order(undefined),
    ];
    await f.events.appendMany(events);
    await until(() => receiver.received.length === 2, 'two deliveries');
    await new Promise((resolve) => setTimeout(resolve, 300));
    const got = receiver.received.map((r) => r.headers['webhook-id']).sort();
    expect(got).toEqual([events[0]!.id, events[2]!.id].sort());
    await until(
      async () => (await f.service.deliveries('acme', acme.id))[0]?.status === 'delivered',
      'the delivery settled',
    );
    const deliveries = await f.service.deliveries('acme', acme.id);
    expect(deliveries.map((d) => [d.eventId, d.status])).toEqual([[events[0]!.id, 'delivered']]);
  });

  it('given events before a subscription existed, then only recover sends them, and resend sends one again', async () => {
    const before = order('acme', 'shop.order.placed.v1', '2026-01-01T00:00:00Z');
    const older = order('acme', 'shop.order.placed.v1', '2025-01-01T00:00:00Z');
    await f.events.appendMany([older, before]);
    const subscription = await f.service.create('acme', { url: receiver.url });
    await start();
    const after = order('acme');
    await f.events.appendMany([after]);
    await until(() => receiver.received.length === 1, 'the live delivery');
    expect(receiver.received[0]!.headers['webhook-id']).toBe(after.id);
    expect(await f.service.recover('acme', subscription.id, '2025-06-01T00:00:00Z')).toEqual({
      enqueued: 1,
    });
    await until(() => receiver.received.length === 2, 'the recovered delivery');
    expect(receiver.received[1]!.headers['webhook-id']).toBe(before.id);
    // Delivered ones are not recovered twice.
    expect(await f.service.recover('acme', subscription.id, '2025-06-01T00:00:00Z')).toEqual({
      enqueued: 0,
    });
    const [latest] = await f.service.deliveries('acme', subscription.id, { limit: 1 });
    const resent = await f.service.resend('acme', latest!.id);
    expect(resent.status).toBe('pending');
    await until(() => receiver.received.length === 3, 'the resent delivery');
    expect(receiver.received[2]!.headers['webhook-id']).toBe(latest!.eventId);
    // The receiver has answered; the attempt is logged right after.
    await until(
      async () => (await f.service.delivery('acme', latest!.id)).attempts.length === 2,
      'the second attempt logged',
    );
    const { attempts } = await f.service.delivery('acme', latest!.id);
    expect(attempts.map((a) => a.outcome)).toEqual(['delivered', 'delivered']);
  });
});
