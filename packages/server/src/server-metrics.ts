import { Counter, Gauge, Histogram, Registry, type RegistryContentType } from 'prom-client';
import type { DeadLetterStore } from '@eventfabric/core';

/** Why an SSE client's stream ended on the server's side. */
export type SseDropReason = 'slow_consumer' | 'subscription_failed' | 'shutdown' | 'key_revoked';

const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/**
 * The server's Prometheus metrics (prefix `eventfabric_`, DESIGN.md's Observability), in the
 * registry `/metrics` serves. The DLQ depth is read from the dead-letter store at scrape time.
 */
export class ServerMetrics {
  readonly published: Counter<'mode'>;
  readonly requests: Counter<'method' | 'route' | 'status'>;
  readonly requestDuration: Histogram<'method' | 'route'>;
  readonly sseClients: Gauge;
  readonly sseDropped: Counter<'reason'>;
  /** True when the registry speaks OpenMetrics: durations then carry trace-id exemplars. */
  private readonly exemplars: boolean;

  constructor(
    readonly registry: Registry<RegistryContentType> = new Registry(),
    deadLetters?: DeadLetterStore,
  ) {
    const registers = [registry];
    this.exemplars = (registry.contentType as string) === Registry.OPENMETRICS_CONTENT_TYPE;
    this.published = new Counter({
      name: 'eventfabric_events_published_total',
      help: 'Events accepted over HTTP (publish and append), by content mode',
      labelNames: ['mode'],
      registers,
    });
    this.requests = new Counter({
      name: 'eventfabric_http_requests_total',
      help: 'HTTP requests answered, by method, route and status',
      labelNames: ['method', 'route', 'status'],
      registers,
    });
    this.requestDuration = new Histogram({
      name: 'eventfabric_http_request_duration_seconds',
      help: 'Time to answer an HTTP request',
      labelNames: ['method', 'route'],
      buckets: DURATION_BUCKETS,
      enableExemplars: this.exemplars,
      registers,
    });
    this.sseClients = new Gauge({
      name: 'eventfabric_sse_clients',
      help: 'Open SSE subscription streams',
      registers,
    });
    this.sseDropped = new Counter({
      name: 'eventfabric_sse_clients_dropped_total',
      help: 'SSE streams the server ended, by reason',
      labelNames: ['reason'],
      registers,
    });
    if (deadLetters !== undefined) {
      new Gauge({
        name: 'eventfabric_dlq_depth',
        help: 'Dead letters waiting to be retried or purged',
        registers,
        async collect() {
          // A store that is briefly away keeps the last value; readiness reports the outage.
          try {
            this.set(await deadLetters.count());
          } catch {
            return;
          }
        },
      });
    }
  }

  /** Record one answered request; with OpenMetrics, its duration carries the trace id. */
  observeRequest(
    labels: { method: string; route: string },
    status: number,
    seconds: number,
    traceId: string | undefined,
  ): void {
    this.requests.inc({ ...labels, status: String(status) });
    if (this.exemplars && traceId !== undefined) {
      // prom-client types exemplar labels as the metric's own label names; they are not.
      const exemplarLabels: Record<string, string> = { trace_id: traceId };
      this.requestDuration.observe({ labels, value: seconds, exemplarLabels });
    } else {
      this.requestDuration.observe(labels, seconds);
    }
  }
}
