import { Counter, Gauge, Histogram, Registry, type RegistryContentType } from 'prom-client';
import type { AttemptOutcome, WebhookStore } from './webhook-store.js';

/** The delivery engine's Prometheus metrics. */
export class WebhookMetrics {
  readonly attempts: Counter<'outcome'>;
  readonly deliveries: Counter<'outcome'>;
  readonly latency: Histogram<'outcome'>;
  readonly disabled: Counter<'reason'>;
  readonly pending: Gauge;

  /**
   * @param registry where to register (the server's, to serve them on `/metrics`)
   * @param store read at scrape time for the pending depth
   */
  constructor(registry: Registry<RegistryContentType> = new Registry(), store?: WebhookStore) {
    this.attempts = new Counter({
      name: 'eventfabric_webhook_attempts_total',
      help: 'Webhook HTTP attempts, by outcome (delivered, failed, gone, timeout, refused, error)',
      labelNames: ['outcome'],
      registers: [registry],
    });
    this.deliveries = new Counter({
      name: 'eventfabric_webhook_deliveries_total',
      help: 'Webhook deliveries settled, by outcome (delivered, retried, failed: schedule spent or endpoint gone)',
      labelNames: ['outcome'],
      registers: [registry],
    });
    this.latency = new Histogram({
      name: 'eventfabric_webhook_attempt_duration_seconds',
      help: 'Duration of webhook HTTP attempts, by outcome',
      labelNames: ['outcome'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    });
    this.disabled = new Counter({
      name: 'eventfabric_webhook_endpoints_disabled_total',
      help: 'Webhook endpoints disabled by the engine, by reason (gone: HTTP 410; failing)',
      labelNames: ['reason'],
      registers: [registry],
    });
    this.pending = new Gauge({
      name: 'eventfabric_webhook_pending_deliveries',
      help: 'Webhook deliveries waiting for a first attempt or a retry',
      registers: [registry],
      async collect() {
        if (store !== undefined) this.set(await store.pendingCount());
      },
    });
  }

  observeAttempt(outcome: AttemptOutcome, seconds: number): void {
    this.attempts.inc({ outcome });
    this.latency.observe({ outcome }, seconds);
  }
}
