import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { Webhook } from 'standardwebhooks';
import { createEvent } from '@eventfabric/core';
import {
  WebhookMetrics,
  WebhookService,
  deliveryOf,
  startWebhookDispatcher,
  type WebhookDispatcher,
  type WebhookDispatcherOptions,
  type WebhookSubscription,
} from '../src/index.js';
import { ALLOW_LOOPBACK, openFixture, type Fixture } from './harness.js';
import { Receiver, until } from './receiver.js';

describe('webhook dispatcher', () => {
  let f: Fixture;
  let receiver: Receiver;
  let dispatcher: WebhookDispatcher | undefined;
  let registry: Registry;

  beforeEach(async () => {
    f = openFixture();
    receiver = new Receiver();
    await receiver.start();
    registry = new Registry();
  });
  afterEach(async () => {
    await dispatcher?.stop();
    dispatcher = undefined;
    await receiver.close();
    await f.close();
  });

  function start(options: Partial<WebhookDispatcherOptions> = {}): WebhookDispatcher {
    dispatcher = startWebhookDispatcher({
      store: f.store,
      allow: ALLOW_LOOPBACK,
      pollMs: 20,
      jitter: 0,
      metrics: new WebhookMetrics(registry, f.store),
      ...options,
    });
    return dispatcher;
  }

  async function subscribe(overrides: Record<string, unknown> = {}) {
    const created = await f.service.create('acme', { url: receiver.url, ...overrides });
    return (await f.store.getSubscription(created.id)) as WebhookSubscription;
  }

  async function enqueue(subscription: WebhookSubscription, n = 1) {
    const events = Array.from({ length: n }, (_, i) =>
      createEvent({
        type: 'shop.order.placed.v1',
        source: '/shop',
        subject: `order-${i}`,
        data: { i },
        tenantid: 'acme',
      }),
    );
    await f.store.enqueue(events.map((e) => deliveryOf(subscription, e, Date.now())));
    dispatcher?.wake();
    return events;
  }

  async function metric(name: string, labels: Record<string, string> = {}): Promise<number> {
    const found = (await registry.getSingleMetric(name)?.get())?.values.find((v) =>
      Object.entries(labels).every(([k, val]) => v.labels[k] === val),
    );
    return found?.value ?? 0;
  }

  it('given a delivery, then the receiver gets the event signed so the standardwebhooks library verifies it', async () => {
    const subscription = await subscribe();
    const [event] = await enqueue(subscription);
    start();
    await until(() => receiver.received.length === 1, 'the delivery');
    const { headers, body } = receiver.received[0]!;
    expect(headers['webhook-id']).toBe(event!.id);
    expect(headers['content-type']).toBe('application/json');
    expect(headers.traceparent).toBe(event!.traceparent);
    const payload = new Webhook(subscription.secrets[0]!.secret).verify(body, {
      'webhook-id': headers['webhook-id'] as string,
      'webhook-timestamp': headers['webhook-timestamp'] as string,
      'webhook-signature': headers['webhook-signature'] as string,
    });
    expect(payload).toEqual(JSON.parse(JSON.stringify(event)));
    await until(
      async () =>
        (await f.store.listDeliveries({ subscriptionId: subscription.id, limit: 1 }))[0]?.status ===
        'delivered',
      'the delivered status',
    );
    const [attempt] = await f.store.listAttempts({ subscriptionId: subscription.id, limit: 10 });
    expect(attempt).toMatchObject({
      attempt: 1,
      outcome: 'delivered',
      status: 200,
      response: 'ok',
    });
    expect(await metric('eventfabric_webhook_attempts_total', { outcome: 'delivered' })).toBe(1);
    expect(await metric('eventfabric_webhook_pending_deliveries')).toBe(0);
  });

  it('given a rotated secret, then both secrets sign during the overlap and only the new one after', async () => {
    const subscription = await subscribe();
    const oldSecret = subscription.secrets[0]!.secret;
    const { secret: newSecret } = await f.service.rotateSecret('acme', subscription.id, {
      overlapMs: 60_000,
    });
    const rotated = (await f.store.getSubscription(subscription.id))!;
    await enqueue(rotated);
    start();
    await until(() => receiver.received.length === 1, 'the delivery');
    const r = receiver.received[0]!;
    const headers = {
      'webhook-id': r.headers['webhook-id'] as string,
      'webhook-timestamp': r.headers['webhook-timestamp'] as string,
      'webhook-signature': r.headers['webhook-signature'] as string,
    };
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
    expect(new Webhook(oldSecret).verify(r.body, headers)).toBeTruthy();
    expect(new Webhook(newSecret).verify(r.body, headers)).toBeTruthy();
    // Overlap 0: the old secret stops signing at once.
    await f.service.rotateSecret('acme', subscription.id, { overlapMs: 0 });
    const again = (await f.store.getSubscription(subscription.id))!;
    expect(again.secrets).toHaveLength(1);
    await enqueue(again);
    await until(() => receiver.received.length === 2, 'the second delivery');
    expect((receiver.received[1]!.headers['webhook-signature'] as string).split(' ')).toHaveLength(
      1,
    );
  });

  it('given failures, then attempts follow the schedule and the delivery fails when it is spent', async () => {
    receiver.fallback = { status: 503, body: 'busy' };
    const subscription = await subscribe();
    await enqueue(subscription);
    start({ retrySchedule: [100, 300] });
    await until(() => receiver.received.length === 3, 'three attempts');
    const [first, second, third] = receiver.received.map((r) => r.at);
    expect(second! - first!).toBeGreaterThanOrEqual(95);
    expect(second! - first!).toBeLessThan(300);
    expect(third! - second!).toBeGreaterThanOrEqual(295);
    await until(
      async () =>
        (await f.store.listDeliveries({ subscriptionId: subscription.id, limit: 1 }))[0]?.status ===
        'failed',
      'the failed status',
    );
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(receiver.received).toHaveLength(3);
    const attempts = await f.store.listAttempts({ subscriptionId: subscription.id, limit: 10 });
    expect(attempts.map((a) => [a.attempt, a.outcome, a.status, a.response, a.error])).toEqual([
      [3, 'failed', 503, 'busy', 'HTTP 503'],
      [2, 'failed', 503, 'busy', 'HTTP 503'],
      [1, 'failed', 503, 'busy', 'HTTP 503'],
    ]);
    expect(await metric('eventfabric_webhook_deliveries_total', { outcome: 'retried' })).toBe(2);
    expect(await metric('eventfabric_webhook_deliveries_total', { outcome: 'failed' })).toBe(1);
    // The subscription stays enabled: it has not been failing for disableAfterMs.
    expect((await f.store.getSubscription(subscription.id))?.enabled).toBe(true);
  });

  it('given a 410, then the endpoint is disabled at once and its other deliveries wait', async () => {
    receiver.cues.push({ status: 410, body: 'gone' });
    const subscription = await subscribe({ ordered: true });
    await enqueue(subscription, 3);
    start({ retrySchedule: [50] });
    await until(
      async () => (await f.store.getSubscription(subscription.id))?.enabled === false,
      'disabled',
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(receiver.received).toHaveLength(1);
    expect(await f.store.getSubscription(subscription.id)).toMatchObject({
      enabled: false,
      disabledReason: 'gone',
    });
    expect(await metric('eventfabric_webhook_endpoints_disabled_total', { reason: 'gone' })).toBe(
      1,
    );
    expect(await f.store.pendingCount()).toBe(2);
    // Re-enabled, the rest flows, in order.
    await f.service.update('acme', subscription.id, { enabled: true });
    dispatcher!.wake();
    await until(() => receiver.received.length === 3, 'the rest');
    const ids = (await f.store.listDeliveries({ subscriptionId: subscription.id, limit: 10 }))
      .sort((a, b) => a.seq - b.seq)
      .map((d) => d.eventId);
    expect(receiver.received.map((r) => r.headers['webhook-id'])).toEqual(ids);
  });

  it('given an endpoint failing longer than disableAfterMs, then it is disabled as failing', async () => {
    receiver.fallback = { status: 500 };
    const subscription = await subscribe();
    await enqueue(subscription);
    start({ retrySchedule: [50, 50, 50, 50, 50, 50, 50, 50], disableAfterMs: 120 });
    await until(
      async () => (await f.store.getSubscription(subscription.id))?.enabled === false,
      'disabled',
    );
    const disabled = (await f.store.getSubscription(subscription.id))!;
    expect(disabled.disabledReason).toBe('failing');
    expect(disabled.disabledAt! - disabled.failingSince!).toBeGreaterThanOrEqual(120);
    const count = receiver.received.length;
    expect(count).toBeGreaterThanOrEqual(3);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(receiver.received).toHaveLength(count);
  });

  it('given a receiver that hangs or answers a huge body, then the timeout and size cap end the attempt', async () => {
    receiver.cues.push({ hang: true }, { bigBody: 5_000_000 });
    const subscription = await subscribe();
    await enqueue(subscription);
    start({ retrySchedule: [10], timeoutMs: 300, leaseMs: 5000, maxResponseBytes: 10_000 });
    await until(
      async () =>
        (await f.store.listAttempts({ subscriptionId: subscription.id, limit: 10 })).length === 2,
      'two attempts',
    );
    const [second, first] = await f.store.listAttempts({
      subscriptionId: subscription.id,
      limit: 10,
    });
    expect(first).toMatchObject({ outcome: 'timeout', error: 'timeout' });
    expect(first!.status).toBeUndefined();
    expect(first!.latencyMs).toBeGreaterThanOrEqual(290);
    expect(first!.latencyMs).toBeLessThan(2000);
    expect(second).toMatchObject({ outcome: 'delivered', status: 200 });
    expect(second!.response).toBe('x'.repeat(1024));
  });

  it('given a host name, then the connection goes to the address that was checked, never resolved again', async () => {
    // hooks.invalid exists nowhere: only the resolver given here knows it.
    let lookups = 0;
    const resolve = () => {
      lookups++;
      return Promise.resolve([{ address: '127.0.0.1', family: 4 }]);
    };
    const port = new URL(receiver.url).port;
    const created = await new WebhookService({
      store: f.store,
      allow: ALLOW_LOOPBACK,
      resolve,
    }).create('acme', { url: `http://hooks.invalid:${port}/hook` });
    const subscription = (await f.store.getSubscription(created.id))!;
    await enqueue(subscription);
    start({ resolve });
    await until(() => receiver.received.length === 1, 'the delivery');
    expect(receiver.received[0]!.headers.host).toBe(`hooks.invalid:${port}`);
    // One lookup when created, one for the attempt.
    expect(lookups).toBe(2);
  });

  it('given loopback not on the allowlist, then no request is made and the attempt is logged as refused', async () => {
    const subscription = await subscribe();
    await enqueue(subscription);
    start({ allow: [], retrySchedule: [] });
    await until(
      async () =>
        (await f.store.listAttempts({ subscriptionId: subscription.id, limit: 10 })).length === 1,
      'the attempt',
    );
    const [attempt] = await f.store.listAttempts({ subscriptionId: subscription.id, limit: 10 });
    expect(attempt!.outcome).toBe('refused');
    expect(attempt!.error).toMatch(/127\.0\.0\.1, a private address/);
    expect(receiver.received).toHaveLength(0);
  });
});
