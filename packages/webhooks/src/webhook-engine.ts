import {
  createConsumer,
  type Consumer,
  type DeadLetterStore,
  type Logger,
  type ProcessedEvents,
  type Transport,
} from '@eventfabric/core';
import {
  startWebhookDispatcher,
  type WebhookDispatcher,
  type WebhookDispatcherOptions,
} from './dispatcher.js';
import { createWebhookFanout } from './fanout.js';

/** Options for {@link startWebhookEngine}. */
export interface WebhookEngineOptions extends WebhookDispatcherOptions {
  /**
   * The log transport the fan-out consumes (`createSqliteTransport({ store })` or
   * `createPostgresLogTransport({ store })`): events reach the queue through the consumer
   * framework, with its checkpoints, retries and dead letters.
   */
  transport: Transport;
  /** Where fan-out failures past their retries go. @defaultValue in memory (pass a durable one) */
  deadLetters?: DeadLetterStore;
  processed?: ProcessedEvents;
  /** The consumer's service name: the fan-out group is `<service>.webhooks`. @defaultValue `eventfabric` */
  service?: string;
  logger?: Logger;
}

/** A running engine: the fan-out consumer and the dispatcher. */
export interface WebhookEngine {
  readonly consumer: Consumer;
  readonly dispatcher: WebhookDispatcher;
  /** Stop the fan-out, then the dispatcher (attempts in flight finish). Idempotent. */
  stop(): Promise<void>;
}

/**
 * Start outgoing webhooks: a consumer whose one handler fans each event of the log out into
 * durable deliveries, and a dispatcher that sends them on their retry schedule. Both resume
 * where they were after a restart: the consumer from its checkpoint, the dispatcher from the
 * delivery table.
 */
export async function startWebhookEngine(options: WebhookEngineOptions): Promise<WebhookEngine> {
  const dispatcher = startWebhookDispatcher(options);
  const consumer = createConsumer({
    service: options.service ?? 'eventfabric',
    transport: options.transport,
    handlers: [createWebhookFanout({ store: options.store, onEnqueued: () => dispatcher.wake() })],
    deadLetters: options.deadLetters,
    processed: options.processed,
    logger: options.logger,
  });
  try {
    await consumer.start();
  } catch (error) {
    await dispatcher.stop();
    throw error;
  }
  let stopped: Promise<void> | undefined;
  return {
    consumer,
    dispatcher,
    stop() {
      stopped ??= (async () => {
        await consumer.stop();
        await dispatcher.stop();
      })();
      return stopped;
    },
  };
}
