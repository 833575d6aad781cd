export * from './nats-options.js';
export * from './nats-transport.js';
export * from './nats-dead-letter-store.js';
export * from './nats-idempotency-key-store.js';
export * from './nats-processed-events.js';
export * from './topology-report.js';
export type {
  NatsConsumerPlan,
  NatsDeadLetterPlan,
  NatsGroupTopics,
  NatsStreamPlan,
  NatsTopology,
  TopologyDifference,
} from './topology.js';
