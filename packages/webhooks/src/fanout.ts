import { randomUUID } from 'node:crypto';
import { compileTopics, type CloudEvent, type EventHandler } from '@eventfabric/core';
import type { NewDelivery, WebhookStore, WebhookSubscription } from './webhook-store.js';

/** The name of the fan-out handler: its consumer group is `<service>.webhooks`. */
export const FANOUT_HANDLER_NAME = 'webhooks';

/** True when `subscription` receives `event`: same tenant, a matching type. */
export function receives(subscription: WebhookSubscription, event: CloudEvent): boolean {
  const tenant = typeof event.tenantid === 'string' ? event.tenantid : '';
  return subscription.tenant === tenant && compileTopics(subscription.types)(event.type);
}

/** The delivery of `event` to `subscription`, due at `now`. */
export function deliveryOf(
  subscription: WebhookSubscription,
  event: CloudEvent,
  now: number,
): NewDelivery {
  // The body is the event as CloudEvents JSON, without the store's read-side fields.
  const {
    position: _position,
    streamversion: _version,
    ...body
  } = event as CloudEvent & {
    position?: unknown;
    streamversion?: unknown;
  };
  return {
    id: randomUUID(),
    subscriptionId: subscription.id,
    tenant: subscription.tenant,
    eventId: event.id,
    eventType: event.type,
    payload: JSON.stringify(body),
    nextAttemptAt: now,
    createdAt: now,
  };
}

/** Options for {@link createWebhookFanout}. */
export interface WebhookFanoutOptions {
  store: WebhookStore;
  /** Called after deliveries were enqueued (the dispatcher's wake-up). */
  onEnqueued?: () => void;
  now?: () => number;
}

/**
 * The consumer-framework handler that turns each event of the log into one durable delivery
 * per enabled subscription of its tenant whose types match, and whose creation precedes the
 * event's `time` (a new subscription does not receive the past: `recover` sends it). The
 * insert is idempotent per (subscription, event), so a redelivered event enqueues nothing
 * twice; a failing insert is retried by the consumer's retry policy.
 */
export function createWebhookFanout(options: WebhookFanoutOptions): EventHandler {
  const now = options.now ?? Date.now;
  return {
    name: FANOUT_HANDLER_NAME,
    on: ['*'],
    raw: true,
    async handle(event) {
      const tenant = typeof event.tenantid === 'string' ? event.tenantid : '';
      const subscriptions = await options.store.listSubscriptions({ tenant, enabledOnly: true });
      const at = Date.parse(event.time ?? '');
      const time = now();
      const deliveries = subscriptions
        .filter((s) => receives(s, event) && !(at < s.createdAt))
        .map((s) => deliveryOf(s, event, time));
      if ((await options.store.enqueue(deliveries)) > 0) options.onEnqueued?.();
    },
  };
}
