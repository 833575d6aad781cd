import {
  Counter,
  Gauge,
  Histogram,
  type Metric,
  type Registry,
  type RegistryContentType,
} from 'prom-client';

const LATENCY_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** What a relay reports to {@link RelayMetrics} at scrape time. */
export interface RelayProbe {
  readonly name: string;
  readonly active: boolean;
  /** Events in the log after the relay's checkpoint, or undefined when unknown. */
  pending(): Promise<number | undefined>;
}

/**
 * The relay's Prometheus metrics, shared by every relay on one registry (labelled by relay
 * name): `eventfabric_outbox_pending` (events after the checkpoint, read from the store at
 * scrape time: an upper bound where positions have gaps), `eventfabric_outbox_forwarded_total`,
 * `eventfabric_outbox_relay_latency_seconds` (event time to forward confirmed) and
 * `eventfabric_outbox_relay_active` (1 where this process holds the lease).
 */
export class RelayMetrics {
  private readonly forwarded: Counter<'relay'>;
  private readonly latency: Histogram<'relay'>;
  private readonly pendingGauge: Gauge<'relay'>;
  private readonly activeGauge: Gauge<'relay'>;
  private readonly probes = new Set<RelayProbe>();

  constructor(registry: Registry<RegistryContentType>) {
    const registers = [registry];
    const probes = this.probes;
    this.forwarded = shared(
      registry,
      'eventfabric_outbox_forwarded_total',
      () =>
        new Counter({
          name: 'eventfabric_outbox_forwarded_total',
          help: 'Events the relay forwarded and the destination confirmed',
          labelNames: ['relay'],
          registers,
        }),
    );
    this.latency = shared(
      registry,
      'eventfabric_outbox_relay_latency_seconds',
      () =>
        new Histogram({
          name: 'eventfabric_outbox_relay_latency_seconds',
          help: 'From an event’s time to its forward being confirmed',
          labelNames: ['relay'],
          buckets: LATENCY_BUCKETS,
          registers,
        }),
    );
    this.pendingGauge = shared(
      registry,
      'eventfabric_outbox_pending',
      () =>
        new Gauge({
          name: 'eventfabric_outbox_pending',
          help: 'Events in the log after the relay’s checkpoint (read at scrape time)',
          labelNames: ['relay'],
          registers,
          async collect() {
            for (const probe of probes) {
              if (!probe.active) continue;
              const pending = await probe.pending().catch(() => undefined);
              if (pending !== undefined) this.set({ relay: probe.name }, pending);
            }
          },
        }),
    );
    this.activeGauge = shared(
      registry,
      'eventfabric_outbox_relay_active',
      () =>
        new Gauge({
          name: 'eventfabric_outbox_relay_active',
          help: '1 where this process holds the relay’s lease and forwards',
          labelNames: ['relay'],
          registers,
          collect() {
            for (const probe of probes) this.set({ relay: probe.name }, probe.active ? 1 : 0);
          },
        }),
    );
  }

  /** Report `probe` at each scrape; the returned function stops (a stopped relay reads 0 active). */
  track(probe: RelayProbe): () => void {
    this.probes.add(probe);
    return () => {
      this.probes.delete(probe);
      this.activeGauge.set({ relay: probe.name }, 0);
      this.pendingGauge.remove({ relay: probe.name });
    };
  }

  forwardedBatch(relay: string, times: readonly (string | undefined)[]): void {
    this.forwarded.inc({ relay }, times.length);
    const now = Date.now();
    for (const time of times) {
      const at = time === undefined ? NaN : Date.parse(time);
      if (Number.isFinite(at)) this.latency.observe({ relay }, Math.max(0, now - at) / 1000);
    }
  }
}

const instances = new WeakMap<Registry<RegistryContentType>, RelayMetrics>();

/** The relay metrics of `registry`, created on first use. */
export function relayMetrics(registry: Registry<RegistryContentType>): RelayMetrics {
  let metrics = instances.get(registry);
  if (!metrics) {
    metrics = new RelayMetrics(registry);
    instances.set(registry, metrics);
  }
  return metrics;
}

function shared<T extends Metric>(
  registry: Registry<RegistryContentType>,
  name: string,
  create: () => T,
): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? create();
}
