import { Gauge, type Registry, type RegistryContentType } from 'prom-client';
import type { HorizonResult } from './sql/horizon.js';
import type { PostgresEventStore } from './postgres-event-store.js';

/**
 * Expose how long `$all` readers have been held back, read from {@link PostgresEventStore.horizon}
 * at scrape time (no polling in between; one query serves both gauges of a scrape):
 * - `eventfabric_subscription_horizon_age_seconds{schema}`: the oldest blocker's hold, 0 when
 *   none;
 * - `eventfabric_subscription_horizon_blockers{schema}`: how many sessions hold it.
 *
 * A scrape that cannot reach the database leaves both gauges at their last values.
 */
export function registerHorizonMetrics(
  store: PostgresEventStore,
  registry: Registry<RegistryContentType>,
): { age: Gauge<'schema'>; blockers: Gauge<'schema'> } {
  const labels = { schema: store.schema };
  let reading: { at: number; result: Promise<HorizonResult | undefined> } | undefined;
  const read = (): Promise<HorizonResult | undefined> => {
    if (!reading || Date.now() - reading.at > 1000) {
      reading = { at: Date.now(), result: store.horizon().catch(() => undefined) };
    }
    return reading.result;
  };
  const age = new Gauge({
    name: 'eventfabric_subscription_horizon_age_seconds',
    help: 'How long the oldest session has held $all readers back',
    labelNames: ['schema'],
    registers: [registry],
    async collect() {
      const result = await read();
      if (result) this.set(labels, Math.max(0, ...result.blockedBy.map((b) => b.ageMs)) / 1000);
    },
  });
  const blockers = new Gauge({
    name: 'eventfabric_subscription_horizon_blockers',
    help: 'Sessions with an open transaction that inserted events, holding $all readers back',
    labelNames: ['schema'],
    registers: [registry],
    async collect() {
      const result = await read();
      if (result) this.set(labels, result.blockedBy.length);
    },
  });
  return { age, blockers };
}
