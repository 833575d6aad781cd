import { Counter, Gauge, Histogram, Registry, type RegistryContentType } from 'prom-client';

/** Outcomes counted by `eventfabric_events_processed_total`. */
export type ProcessOutcome =
  'handled' | 'duplicate' | 'retried' | 'dead_lettered' | 'quarantined' | 'failed';

const LATENCY_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/**
 * The consumer's Prometheus metrics (names from DESIGN.md). Histograms carry the trace id
 * as an exemplar when the registry speaks OpenMetrics, so a slow handling leads to its trace.
 */
export class ConsumerMetrics {
  readonly processed: Counter<'handler' | 'outcome'>;
  readonly retried: Counter<'handler'>;
  readonly deadLettered: Counter<'handler' | 'reason'>;
  readonly handlerDuration: Histogram<'handler'>;
  readonly endToEndLatency: Histogram<'handler'>;
  readonly lagSeconds: Gauge<'handler'>;
  private readonly exemplars: boolean;

  constructor(readonly registry: Registry<RegistryContentType> = new Registry()) {
    this.exemplars = (registry.contentType as string) === Registry.OPENMETRICS_CONTENT_TYPE;
    const registers = [registry];
    this.processed = new Counter({
      name: 'eventfabric_events_processed_total',
      help: 'Deliveries finished by a handler, by outcome',
      labelNames: ['handler', 'outcome'],
      registers,
    });
    this.retried = new Counter({
      name: 'eventfabric_events_retried_total',
      help: 'Failed handlings scheduled for another attempt',
      labelNames: ['handler'],
      registers,
    });
    this.deadLettered = new Counter({
      name: 'eventfabric_events_dead_lettered_total',
      help: 'Events sent to the dead letters, by reason',
      labelNames: ['handler', 'reason'],
      registers,
    });
    this.handlerDuration = new Histogram({
      name: 'eventfabric_handler_duration_seconds',
      help: 'Time spent in the handler chain per delivery',
      labelNames: ['handler'],
      buckets: LATENCY_BUCKETS,
      enableExemplars: this.exemplars,
      registers,
    });
    this.endToEndLatency = new Histogram({
      name: 'eventfabric_end_to_end_latency_seconds',
      help: 'From the event time to the end of its handling',
      labelNames: ['handler'],
      buckets: LATENCY_BUCKETS,
      enableExemplars: this.exemplars,
      registers,
    });
    this.lagSeconds = new Gauge({
      name: 'eventfabric_consumer_lag_seconds',
      help: 'Age of the last event a handler finished, at the time it finished',
      labelNames: ['handler'],
      registers,
    });
  }

  /** Record one finished delivery. */
  observe(
    handler: string,
    outcome: ProcessOutcome,
    seconds: number,
    eventTime: string,
    traceId: string,
  ): void {
    this.processed.inc({ handler, outcome });
    const labels = { handler };
    const exemplarLabels = { trace_id: traceId };
    this.observeHistogram(this.handlerDuration, labels, seconds, exemplarLabels);
    if (outcome === 'handled') {
      const age = Math.max(0, (Date.now() - Date.parse(eventTime)) / 1000);
      if (Number.isFinite(age)) {
        this.observeHistogram(this.endToEndLatency, labels, age, exemplarLabels);
        this.lagSeconds.set(labels, age);
      }
    }
  }

  private observeHistogram(
    histogram: Histogram<'handler'>,
    labels: { handler: string },
    value: number,
    exemplarLabels: Record<string, string>,
  ): void {
    if (this.exemplars) histogram.observe({ labels, value, exemplarLabels });
    else histogram.observe(labels, value);
  }
}
