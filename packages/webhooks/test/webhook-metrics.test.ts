import { spawnSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { createEvent } from '@eventfabric/core';
import { WebhookMetrics, deliveryOf } from '../src/index.js';
import { openFixture, type Fixture } from './harness.js';

const promtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
const missing = promtool.error === undefined ? undefined : promtool.error.message;

describe('webhook metrics', () => {
  let f: Fixture;
  beforeEach(() => {
    f = openFixture();
  });
  afterEach(() => f.close());

  it('given attempts, disablings and waiting deliveries, then the exposition carries each and passes promtool', async (context) => {
    const registry = new Registry();
    const metrics = new WebhookMetrics(registry, f.store);
    const created = await f.service.create('acme', { url: 'http://127.0.0.1:9/x' });
    const subscription = (await f.store.getSubscription(created.id))!;
    const event = createEvent({
      type: 'shop.order.placed.v1',
      source: '/s',
      subject: 'o-1',
      data: {},
      tenantid: 'acme',
    });
    await f.store.enqueue([deliveryOf(subscription, event, 0)]);
    metrics.observeAttempt('delivered', 0.02);
    metrics.observeAttempt('timeout', 15);
    metrics.deliveries.inc({ outcome: 'retried' });
    metrics.disabled.inc({ reason: 'gone' });
    const text = await registry.metrics();
    expect(text).toContain('eventfabric_webhook_attempts_total{outcome="delivered"} 1');
    expect(text).toContain('eventfabric_webhook_attempts_total{outcome="timeout"} 1');
    expect(text).toContain(
      'eventfabric_webhook_attempt_duration_seconds_bucket{le="30",outcome="timeout"} 1',
    );
    expect(text).toContain('eventfabric_webhook_deliveries_total{outcome="retried"} 1');
    expect(text).toContain('eventfabric_webhook_endpoints_disabled_total{reason="gone"} 1');
    expect(text).toContain('eventfabric_webhook_pending_deliveries 1');
    if (missing !== undefined) {
      if (process.env.CI === 'true') throw new Error(`promtool is not installed: ${missing}`);
      console.warn(`\n⚠ SKIPPING promtool check metrics: ${missing}\n`);
      context.skip();
    }
    const result = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(result.stdout + result.stderr).toBe('');
    expect(result.status).toBe(0);
  });
});
