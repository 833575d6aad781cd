import { Registry, type OpenMetricsContentType } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { ConsumerMetrics, markOutcome, metrics, type HandlingContext } from '../../src/index.js';
import { ScheduledRetry } from '../../src/consumer/scheduled-retry.js';
import { context, event } from './fixtures.js';

async function processed(registry: Registry): Promise<Record<string, number>> {
  const values = (await registry.getSingleMetric('eventfabric_events_processed_total')!.get())
    .values;
  return Object.fromEntries(values.map((v) => [String(v.labels.outcome), v.value]));
}

describe('metrics middleware', () => {
  it('counts each outcome and times every delivery', async () => {
    const registry = new Registry();
    const m = new ConsumerMetrics(registry);
    const e = event('order-1');
    await metrics(m)(async () => undefined)(e, context(e));
    await metrics(m)(async (_e, c) => markOutcome(c as HandlingContext, 'duplicate'))(
      e,
      context(e),
    );
    await metrics(m)(async (_e, c) => markOutcome(c as HandlingContext, 'dead_lettered'))(
      e,
      context(e),
    );
    await expect(
      metrics(m)(async () => Promise.reject(new ScheduledRetry(5, null)))(e, context(e)),
    ).rejects.toBeInstanceOf(ScheduledRetry);
    await expect(
      metrics(m)(async () => Promise.reject(new Error('store down')))(e, context(e)),
    ).rejects.toThrow('store down');
    expect(await processed(registry)).toEqual({
      handled: 1,
      duplicate: 1,
      dead_lettered: 1,
      retried: 1,
      failed: 1,
    });
    const durations = (
      await registry.getSingleMetric('eventfabric_handler_duration_seconds')!.get()
    ).values as {
      metricName?: string;
      value: number;
    }[];
    expect(
      durations.find((v) => v.metricName === 'eventfabric_handler_duration_seconds_count')?.value,
    ).toBe(5);
    const latency = (
      await registry.getSingleMetric('eventfabric_end_to_end_latency_seconds')!.get()
    ).values as {
      metricName?: string;
      value: number;
    }[];
    expect(
      latency.find((v) => v.metricName === 'eventfabric_end_to_end_latency_seconds_count')?.value,
    ).toBe(1);
  });

  it('attaches the trace id as an exemplar on an OpenMetrics registry', async () => {
    const registry = new Registry<OpenMetricsContentType>();
    registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    const m = new ConsumerMetrics(registry);
    const e = {
      ...event('order-1'),
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    };
    await metrics(m)(async () => undefined)(e, context(e));
    const text = await registry.metrics();
    expect(text).toMatch(
      /eventfabric_handler_duration_seconds_bucket\{.*\} 1 # \{trace_id="4bf92f3577b34da6a3ce929d0e0e4736"\}/,
    );
  });
});
