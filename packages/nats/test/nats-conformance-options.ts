import type { TransportConformanceOptions } from '@eventfabric/conformance';
import { createNatsTransport } from '../src/index.js';
import { TEST_NATS_URL } from './nats-available.js';

/**
 * The conformance setup shared by the integration tier and the fault tier (which adds
 * `restartBroker`). Every test of the suite publishes under the context `conformance` with
 * types and groups of its own, so all share one stream, `<namePrefix>conformance_events`.
 * The stream retains events, so a group declared later receives earlier ones
 * (`persistent`); the delivery count is the server's (`deliveryCountAcrossCrashes`); order
 * per key comes from one delivery in flight per partition consumer (`guaranteedOrder`),
 * across nack delays.
 */
export function natsConformanceOptions(ns: string): TransportConformanceOptions {
  return {
    setup: () => ({
      create: ({ drainTimeoutMs }) =>
        createNatsTransport({
          servers: TEST_NATS_URL,
          namePrefix: `${ns}_`,
          subjectPrefix: ns,
          drainTimeoutMs,
          // A dead member's deliveries come back after this; the suite's crashes close the
          // connection, which releases them at once.
          consumer: { ackWaitMs: 5000 },
          stream: { storage: 'file', maxAgeMs: 600_000 },
        }),
    }),
    features: {
      persistent: true,
      guaranteedOrder: true,
      nackDelay: true,
      deliveryCountAcrossCrashes: true,
      stress: true,
    },
  };
}
