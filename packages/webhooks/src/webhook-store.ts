/** One signing secret of a subscription; an old one keeps signing until it expires. */
export interface WebhookSecret {
  /** `whsec_<base64>`. */
  secret: string;
  /** ms since the epoch. */
  createdAt: number;
  /** When a rotated-out secret stops signing (ms since the epoch); absent for the current one. */
  expiresAt?: number;
}

/** An outgoing webhook endpoint of one tenant. */
export interface WebhookSubscription {
  id: string;
  /** The owning tenant; `''` for events without a `tenantid` (a server without API keys). */
  tenant: string;
  url: string;
  /** Topic patterns of the event types it receives (`shop.order.*`); `['*']` for all. */
  types: string[];
  description: string;
  /** Newest first. */
  secrets: WebhookSecret[];
  /** Deliver one event at a time, in log order: a failing delivery holds the later ones. */
  ordered: boolean;
  enabled: boolean;
  /** Why it was disabled (`gone`: the endpoint answered 410; `failing`; `manual`). */
  disabledReason?: string;
  disabledAt?: number;
  /** Since when every attempt failed (ms since the epoch); absent after a success. */
  failingSince?: number;
  createdAt: number;
  updatedAt: number;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

/** One event on its way to one subscription. */
export interface WebhookDelivery {
  id: string;
  /** Enqueue order: per-endpoint ordering follows it. */
  seq: number;
  subscriptionId: string;
  tenant: string;
  /** The event id, sent as `webhook-id`. */
  eventId: string;
  eventType: string;
  /** The exact body sent: the event as CloudEvents JSON. */
  payload: string;
  status: DeliveryStatus;
  /** Attempts since it was enqueued or resent (a claim counts, so a crash mid-send counts). */
  attempts: number;
  nextAttemptAt: number;
  createdAt: number;
  lastAttemptAt?: number;
  lastStatus?: number;
  lastError?: string;
}

/** How one attempt ended. */
export type AttemptOutcome = 'delivered' | 'failed' | 'gone' | 'timeout' | 'refused' | 'error';

/** One HTTP attempt, as the delivery log keeps it. */
export interface DeliveryAttempt {
  deliveryId: string;
  subscriptionId: string;
  eventId: string;
  attempt: number;
  /** When it started, ms since the epoch. */
  at: number;
  outcome: AttemptOutcome;
  /** The HTTP status, when a response came. */
  status?: number;
  latencyMs: number;
  /** The first KB of the response body. */
  response: string;
  error?: string;
}

/** A delivery to enqueue. */
export interface NewDelivery {
  id: string;
  subscriptionId: string;
  tenant: string;
  eventId: string;
  eventType: string;
  payload: string;
  nextAttemptAt: number;
  createdAt: number;
}

/** What a finished attempt leaves the delivery as. */
export interface AttemptResult {
  status: DeliveryStatus;
  nextAttemptAt: number;
}

/** Filters of {@link WebhookStore.listDeliveries}. */
export interface DeliveryFilter {
  subscriptionId: string;
  status?: DeliveryStatus;
  limit: number;
}

/**
 * Durable webhook state: subscriptions, queued deliveries and their attempt log.
 *
 * Implementations must guarantee:
 * - **Durable.** Every write is committed before its promise resolves.
 * - **One delivery per (subscription, event).** `enqueue` of a pair already present is a
 *   no-op (or, with `resetFailed`, revives a failed one), so a fan-out may run twice.
 * - **Exclusive claims.** `claimDue` hands a due delivery of an enabled subscription to one
 *   claimer for `leaseMs`; for an ordered subscription only its oldest pending delivery is due.
 * - **Fenced results.** `recordAttempt` changes the delivery only while `owner` holds it, and
 *   logs the attempt in the same transaction.
 */
export interface WebhookStore {
  createSubscription(subscription: WebhookSubscription): Promise<void>;
  getSubscription(id: string): Promise<WebhookSubscription | undefined>;
  /** Oldest first; every tenant's when `tenant` is undefined. */
  listSubscriptions(filter: {
    tenant?: string;
    enabledOnly?: boolean;
  }): Promise<WebhookSubscription[]>;
  /** Replace the subscription's settings (url, types, description, secrets, ordered, enabled). */
  updateSubscription(subscription: WebhookSubscription): Promise<void>;
  /** Remove a subscription with its deliveries and log; false when there was none. */
  deleteSubscription(id: string): Promise<boolean>;
  /** Disable a subscription with a reason; false when it was already disabled or absent. */
  disableSubscription(id: string, reason: string, now: number): Promise<boolean>;
  /** Note an attempt's outcome; @returns since when the subscription has been failing. */
  noteOutcome(id: string, ok: boolean, now: number): Promise<number | undefined>;

  /** @returns how many deliveries were inserted or revived */
  enqueue(deliveries: readonly NewDelivery[], options?: { resetFailed?: boolean }): Promise<number>;
  claimDue(now: number, limit: number, owner: string, leaseMs: number): Promise<WebhookDelivery[]>;
  recordAttempt(owner: string, attempt: DeliveryAttempt, result: AttemptResult): Promise<boolean>;
  /** Give back a claim without an attempt (its subscription was disabled meanwhile). */
  release(id: string, owner: string): Promise<void>;
  /** Make a delivery due now with a fresh attempt budget; false when there is none. */
  resend(id: string, now: number): Promise<boolean>;
  getDelivery(id: string): Promise<WebhookDelivery | undefined>;
  /** Newest first. */
  listDeliveries(filter: DeliveryFilter): Promise<WebhookDelivery[]>;
  /** Newest first: of one delivery, or of a subscription. */
  listAttempts(filter: {
    deliveryId?: string;
    subscriptionId?: string;
    limit: number;
  }): Promise<DeliveryAttempt[]>;
  /** Deliveries still pending (every subscription). */
  pendingCount(): Promise<number>;
  /** The earliest time a pending delivery may be claimed, or undefined when none waits. */
  nextDue(now: number): Promise<number | undefined>;
  close(): void | Promise<void>;
}
