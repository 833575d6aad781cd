import type {
  DeliveryAttempt,
  DeliveryStatus,
  WebhookDelivery,
  WebhookSecret,
  WebhookSubscription,
} from './webhook-store.js';

/** Columns of `webhook_subscriptions`, as both SQL stores read them. */
export interface SubscriptionRow {
  id: string;
  tenant: string;
  url: string;
  types: string;
  description: string;
  secrets: string;
  ordered: number | boolean;
  enabled: number | boolean;
  disabled_reason: string | null;
  disabled_at: number | string | null;
  failing_since: number | string | null;
  created_at: number | string;
  updated_at: number | string;
}

export interface DeliveryRow {
  id: string;
  seq: number | string;
  subscription_id: string;
  tenant: string;
  event_id: string;
  event_type: string;
  payload: string;
  status: string;
  attempts: number;
  next_attempt_at: number | string;
  created_at: number | string;
  last_attempt_at: number | string | null;
  last_status: number | null;
  last_error: string | null;
}

export interface AttemptRow {
  delivery_id: string;
  subscription_id: string;
  event_id: string;
  attempt: number;
  at: number | string;
  outcome: string;
  status: number | null;
  latency_ms: number;
  response: string;
  error: string | null;
}

const optional = (value: number | string | null): number | undefined =>
  value === null ? undefined : Number(value);

export function toSubscription(row: SubscriptionRow): WebhookSubscription {
  const subscription: WebhookSubscription = {
    id: row.id,
    tenant: row.tenant,
    url: row.url,
    types: JSON.parse(row.types) as string[],
    description: row.description,
    secrets: JSON.parse(row.secrets) as WebhookSecret[],
    ordered: row.ordered === 1 || row.ordered === true,
    enabled: row.enabled === 1 || row.enabled === true,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
  if (row.disabled_reason !== null) subscription.disabledReason = row.disabled_reason;
  const disabledAt = optional(row.disabled_at);
  if (disabledAt !== undefined) subscription.disabledAt = disabledAt;
  const failingSince = optional(row.failing_since);
  if (failingSince !== undefined) subscription.failingSince = failingSince;
  return subscription;
}

/** A subscription as named parameters of both stores' statements. */
export function subscriptionParams(s: WebhookSubscription): Record<string, unknown> {
  return {
    id: s.id,
    tenant: s.tenant,
    url: s.url,
    types: JSON.stringify(s.types),
    description: s.description,
    secrets: JSON.stringify(s.secrets),
    ordered: s.ordered ? 1 : 0,
    enabled: s.enabled ? 1 : 0,
    disabled_reason: s.disabledReason ?? null,
    disabled_at: s.disabledAt ?? null,
    failing_since: s.failingSince ?? null,
    created_at: s.createdAt,
    updated_at: s.updatedAt,
  };
}

export function toDelivery(row: DeliveryRow): WebhookDelivery {
  const delivery: WebhookDelivery = {
    id: row.id,
    seq: Number(row.seq),
    subscriptionId: row.subscription_id,
    tenant: row.tenant,
    eventId: row.event_id,
    eventType: row.event_type,
    payload: row.payload,
    status: row.status as DeliveryStatus,
    attempts: row.attempts,
    nextAttemptAt: Number(row.next_attempt_at),
    createdAt: Number(row.created_at),
  };
  const last = optional(row.last_attempt_at);
  if (last !== undefined) delivery.lastAttemptAt = last;
  if (row.last_status !== null) delivery.lastStatus = row.last_status;
  if (row.last_error !== null) delivery.lastError = row.last_error;
  return delivery;
}

export function toAttempt(row: AttemptRow): DeliveryAttempt {
  const attempt: DeliveryAttempt = {
    deliveryId: row.delivery_id,
    subscriptionId: row.subscription_id,
    eventId: row.event_id,
    attempt: row.attempt,
    at: Number(row.at),
    outcome: row.outcome as DeliveryAttempt['outcome'],
    latencyMs: row.latency_ms,
    response: row.response,
  };
  if (row.status !== null) attempt.status = row.status;
  if (row.error !== null) attempt.error = row.error;
  return attempt;
}
