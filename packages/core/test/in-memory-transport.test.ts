import { describeTransportConformance } from '@eventfabric/conformance';
import { createInMemoryTransport, InMemoryBroker } from '../src/index.js';

// Each test gets its own broker; its connections are the transports made on it. The broker
// outlives any one connection, so it keeps counting deliveries when a member goes away
// (`deliveryCountAcrossCrashes`). It cannot restart, so there is no `restartBroker`.
describeTransportConformance('in-memory', {
  setup: () => {
    const broker = new InMemoryBroker();
    return {
      create: ({ drainTimeoutMs }) => createInMemoryTransport({ broker, drainTimeoutMs }),
    };
  },
  features: {
    persistent: true,
    guaranteedOrder: true,
    nackDelay: true,
    deliveryCountAcrossCrashes: true,
    stress: true,
  },
});
