import { describeTransportConformance } from '@eventfabric/conformance';
import { createRabbitMqTransport, deadLetterQueueName, retryQueueName } from '../src/index.js';
import { DEFAULT_RETRY_DELAYS_MS } from '../src/rabbitmq-options.js';
import { deleteTopology, describeWithRabbitMq, TEST_AMQP_URL } from './rabbitmq-available.js';

/** The queues a group declares, deleted when its test ends so tests can share the broker. */
export function queuesOf(group: string): string[] {
  return [
    group,
    deadLetterQueueName(group),
    ...DEFAULT_RETRY_DELAYS_MS.map((d) => retryQueueName(group, d)),
  ];
}

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
