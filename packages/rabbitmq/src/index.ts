export { createRabbitMqTransport, RabbitMqTransport } from './rabbitmq-transport.js';
export type { RabbitMqTransportStatus } from './rabbitmq-transport.js';
export {
  DEFAULT_RETRY_DELAYS_MS,
  resolveRabbitMqOptions,
  type RabbitMqPriorityLevels,
  type RabbitMqQueueType,
  type RabbitMqTransportOptions,
} from './rabbitmq-options.js';
export { bindingOf, contextOf, deadLetterQueueName, exchangeOf, retryQueueName } from './naming.js';
export {
  groupTopology,
  declareGroupTopology,
  priorityExchangeName,
  priorityQueueName,
  PRIORITY_HEADER,
  PARTITION_HEADER,
  partitionOf,
  partitionQueueName,
  type PartitionRouting,
  type GroupTopology,
  type PriorityRouting,
  type QueueDeclaration,
} from './topology.js';
export { decodeEvent, encodeEvent, STRUCTURED_CONTENT_TYPE } from './cloudevents-amqp.js';
export { DELIVERIES_HEADER, NOT_BEFORE_HEADER } from './rabbitmq-subscription.js';
export {
  createRabbitMqDeadLetterStore,
  RabbitMqDeadLetterStore,
  type RabbitMqDeadLetterStoreOptions,
} from './rabbitmq-dead-letter-store.js';
export {
  DeadLetterQueueSession,
  resolveDeadLetterQueue,
  type HeldDeadLetter,
  type RedriveOutcome,
} from './dead-letter-queue.js';
export {
  DEAD_LETTER_HEADERS,
  readDeadLetter,
  type QueuedDeadLetter,
  type QueuedDeadLetterReason,
} from './dead-letter-message.js';
export { registerRabbitMqMetrics, type RabbitMqMetricsOptions } from './rabbitmq-metrics.js';
