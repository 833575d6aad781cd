import { describeTransportConformance } from '@eventfabric/conformance';
import { afterAll } from 'vitest';
import { createRabbitMqTransport } from '../src/index.js';
import {
  deleteTopology,
  describeWithRabbitMq,
  queuesOf,
  restartRabbitMq,
  TEST_AMQP_URL,
  waitForBroker,
} from './rabbitmq-available.js';

// The whole suite again, this time declaring `restartBroker`: its reconnect test restarts the
// shared broker (`rabbitmqctl stop_app` / `start_app`), so it runs in the fault tier, alone.
describeWithRabbitMq('RabbitMQ transport across broker restarts', () => {
  afterAll(async () => {
    await waitForBroker();
  });

  describeTransportConformance('rabbitmq (quorum queues, broker restarts)', {
    setup: () => {
      const groups = new Set<string>();
      return {
        async create({ drainTimeoutMs }) {
          const transport = await createRabbitMqTransport({ url: TEST_AMQP_URL, drainTimeoutMs });
          const subscribe = transport.subscribe.bind(transport);
          transport.subscribe = (group, handler, options) => {
            if (typeof group === 'string') groups.add(group);
            return subscribe(group, handler, options);
          };
          return transport;
        },
        teardown: () => deleteTopology({ queues: [...groups].flatMap(queuesOf) }),
      };
    },
    features: {
      nackDelay: true,
      deliveryCountAcrossCrashes: true,
      stress: true,
      restartBroker: restartRabbitMq,
    },
  });
});
