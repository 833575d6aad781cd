import { describeTransportConformance } from '@eventfabric/conformance';
import { createRabbitMqTransport } from '../src/index.js';
import {
  deleteTopology,
  describeWithRabbitMq,
  queuesOf,
  TEST_AMQP_URL,
} from './rabbitmq-available.js';

describeWithRabbitMq('RabbitMQ transport', () => {
  for (const queueType of ['quorum', 'classic'] as const) {
    describeTransportConformance(`rabbitmq (${queueType} queues)`, {
      setup: () => {
        const groups = new Set<string>();
        return {
          async create({ drainTimeoutMs }) {
            const transport = await createRabbitMqTransport({
              url: TEST_AMQP_URL,
              queueType,
              drainTimeoutMs,
            });
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
        deliveryCountAcrossCrashes: queueType === 'quorum',
        stress: true,
      },
    });
  }
});
