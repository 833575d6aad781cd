import { Counter, Gauge, type Registry, type RegistryContentType } from 'prom-client';
import type { ConnectionState } from './connection.js';
import type { RabbitMqTransport } from './rabbitmq-transport.js';

const STATES: readonly ConnectionState[] = ['connecting', 'open', 'reconnecting', 'closed'];
const OUTCOMES = ['confirmed', 'returned', 'failed'] as const;

/** Options for {@link registerRabbitMqMetrics}. */
export interface RabbitMqMetricsOptions {
  /** Where the metrics are registered (the server's registry, or one of your own). */
  registry: Registry<RegistryContentType>;
  /**
   * The `connection` label, telling several transports of one process apart.
   * @defaultValue 'default'
   */
  connection?: string;
}

/**
 * The transport's connection metrics, read from {@link RabbitMqTransport.status} at scrape
 * time (nothing is counted on the hot path twice):
 *
 * - `eventfabric_rabbitmq_connection_state{connection,state}`: 1 for the current state
 *   (`connecting`, `open`, `reconnecting`, `closed`), 0 for the others;
 * - `eventfabric_rabbitmq_connection_losses_total{connection}`, and
 *   `eventfabric_rabbitmq_reconnects_total{connection}` (losses made good);
 * - `eventfabric_rabbitmq_publishes_unconfirmed{connection}`: publishes awaiting a confirm;
 * - `eventfabric_rabbitmq_publishes_total{connection,outcome}`: `confirmed`, `returned`
 *   (unroutable: nothing bound) or `failed` (nacked, or the connection went first);
 * - `eventfabric_rabbitmq_consumers{connection}`: group members consuming.
 *
 * Register once per transport and registry (prom-client refuses a second metric of a name).
 */
export function registerRabbitMqMetrics(
  transport: RabbitMqTransport,
  options: RabbitMqMetricsOptions,
): void {
  const registers = [options.registry];
  const connection = options.connection ?? 'default';
  const counted = { losses: 0, reconnects: 0, confirmed: 0, returned: 0, failed: 0 };
  /** Counters only go up: add what the transport counted since the last scrape. */
  const catchUp = (
    counter: Counter<string>,
    key: keyof typeof counted,
    now: number,
    labels: Record<string, string>,
  ) => {
    if (now > counted[key]) counter.inc(labels, now - counted[key]);
    counted[key] = Math.max(counted[key], now);
  };
  new Gauge({
    name: 'eventfabric_rabbitmq_connection_state',
    help: 'RabbitMQ connection state: 1 for the current one (connecting, open, reconnecting, closed)',
    labelNames: ['connection', 'state'],
    registers,
    collect() {
      const state = transport.status().connection;
      for (const s of STATES) this.set({ connection, state: s }, s === state ? 1 : 0);
    },
  });
  const losses = new Counter({
    name: 'eventfabric_rabbitmq_connection_losses_total',
    help: 'RabbitMQ connections lost',
    labelNames: ['connection'],
    registers,
    collect() {
      catchUp(this, 'losses', transport.status().losses, { connection });
    },
  });
  const reconnects = new Counter({
    name: 'eventfabric_rabbitmq_reconnects_total',
    help: 'RabbitMQ connections lost and made again',
    labelNames: ['connection'],
    registers,
    collect() {
      catchUp(this, 'reconnects', transport.status().reconnects, { connection });
    },
  });
  new Gauge({
    name: 'eventfabric_rabbitmq_publishes_unconfirmed',
    help: 'Publishes awaiting the RabbitMQ broker confirm',
    labelNames: ['connection'],
    registers,
    collect() {
      this.set({ connection }, transport.status().unconfirmed);
    },
  });
  const publishes = new Counter({
    name: 'eventfabric_rabbitmq_publishes_total',
    help: 'RabbitMQ publishes by outcome: confirmed, returned (unroutable) or failed',
    labelNames: ['connection', 'outcome'],
    registers,
    collect() {
      const { published } = transport.status();
      for (const outcome of OUTCOMES) {
        catchUp(this, outcome, published[outcome], { connection, outcome });
      }
    },
  });
  // Every series exists from the start, at 0: an alert on a rate needs a first sample.
  losses.inc({ connection }, 0);
  reconnects.inc({ connection }, 0);
  for (const outcome of OUTCOMES) publishes.inc({ connection, outcome }, 0);
  new Gauge({
    name: 'eventfabric_rabbitmq_consumers',
    help: 'Consumer group members this RabbitMQ transport runs',
    labelNames: ['connection'],
    registers,
    collect() {
      this.set({ connection }, transport.status().subscriptions.length);
    },
  });
}
