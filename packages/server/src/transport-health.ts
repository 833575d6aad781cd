import { Counter, Gauge, type Registry, type RegistryContentType } from 'prom-client';

/** A broker connection as it stands now (read at scrape time, so it must be cheap). */
export interface TransportConnectionStatus {
  /** True while the connection is open. */
  connected: boolean;
  /** Connections lost and made again since start. */
  reconnects: number;
  /** Publishes awaiting the broker's confirm, where the transport counts them. */
  unconfirmed?: number;
}

/**
 * What the server needs to know of a broker transport it does not own (`eventfabric serve
 * --transport amqp://…|nats://…` relays the store's log to one). The server never publishes
 * to it and never closes it.
 */
export interface TransportHealth {
  /** Its kind, the `transport` label of its metrics: `amqp`, `nats`. */
  readonly kind: string;
  /** Where it is, with any password masked: shown by `/readyz`. */
  readonly location: string;
  status(): TransportConnectionStatus;
  /**
   * Resolve with details for `/readyz` when the broker answers now; reject (ideally with
   * TRANSPORT_UNAVAILABLE and a reason) when it does not. `/readyz` waits at most 2 s.
   */
  ready(): Promise<Record<string, unknown>>;
}

/**
 * The transport's metrics: `eventfabric_transport_connected` (1 or 0),
 * `eventfabric_transport_reconnects_total` and `eventfabric_transport_unconfirmed`, each
 * labelled `transport` and read from {@link TransportHealth.status} at scrape time.
 */
export function registerTransportMetrics(
  registry: Registry<RegistryContentType>,
  transport: TransportHealth,
): void {
  const registers = [registry];
  const labels = { transport: transport.kind };
  let counted = 0;
  new Gauge({
    name: 'eventfabric_transport_connected',
    help: '1 while the broker connection is open, 0 while it is lost',
    labelNames: ['transport'],
    registers,
    collect() {
      this.set(labels, transport.status().connected ? 1 : 0);
    },
  });
  new Counter({
    name: 'eventfabric_transport_reconnects_total',
    help: 'Broker connections lost and made again',
    labelNames: ['transport'],
    registers,
    collect() {
      const reconnects = transport.status().reconnects;
      this.inc(labels, Math.max(0, reconnects - counted));
      counted = Math.max(counted, reconnects);
    },
  });
  new Gauge({
    name: 'eventfabric_transport_unconfirmed',
    help: 'Publishes awaiting the broker’s confirm',
    labelNames: ['transport'],
    registers,
    collect() {
      this.set(labels, transport.status().unconfirmed ?? 0);
    },
  });
}
