import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { InvalidArgumentError, isEventFabricError, type Logger } from '@eventfabric/core';
import { AddressPolicy } from './address-policy.js';
import { postTo, type PostResult } from './http-post.js';
import {
  DEFAULT_JITTER,
  DEFAULT_RETRY_SCHEDULE_MS,
  checkSchedule,
  nextDelay,
} from './retry-schedule.js';
import { signStandardWebhook } from './standard-webhooks.js';
import { resolveTarget, type Resolve } from './target-resolver.js';
import { WebhookMetrics } from './webhook-metrics.js';
import type {
  AttemptOutcome,
  AttemptResult,
  DeliveryAttempt,
  WebhookDelivery,
  WebhookStore,
  WebhookSubscription,
} from './webhook-store.js';

/** Options for {@link startWebhookDispatcher}; every one but `store` has a default. */
export interface WebhookDispatcherOptions {
  store: WebhookStore;
  /**
   * Addresses or CIDR ranges deliveries may reach although private, loopback, link-local,
   * unique-local or multicast (`['127.0.0.1/32']` for a local receiver). @defaultValue none
   */
  allow?: readonly string[];
  /** How host names are resolved (tests). @defaultValue the system resolver, every address */
  resolve?: Resolve;
  /**
   * Delays between attempts, in ms: after the n-th failure, the n-th delay. When they are
   * spent the delivery fails. @defaultValue {@link DEFAULT_RETRY_SCHEDULE_MS} (about 3 days)
   */
  retrySchedule?: readonly number[];
  /** Relative jitter on each delay. @defaultValue 0.2 (±20 %) */
  jitter?: number;
  /**
   * An endpoint whose attempts have all failed for this long is disabled (reason `failing`).
   * @defaultValue 5 days
   */
  disableAfterMs?: number;
  /** Deadline of one HTTP attempt, connect to last byte. @defaultValue 15 000 */
  timeoutMs?: number;
  /** Most response bytes read per attempt. @defaultValue 65 536 */
  maxResponseBytes?: number;
  /** Response bytes kept in the delivery log. @defaultValue 1024 */
  keepResponseBytes?: number;
  /** Attempts in flight at once. @defaultValue 8 */
  concurrency?: number;
  /** Longest sleep between looks at the queue (other processes' enqueues). @defaultValue 1000 */
  pollMs?: number;
  /** How long a claim lasts before another dispatcher may retry it. @defaultValue 60 000 */
  leaseMs?: number;
  owner?: string;
  metrics?: WebhookMetrics;
  logger?: Logger;
  /** @defaultValue Date.now */
  now?: () => number;
  /** @defaultValue Math.random */
  random?: () => number;
}

/** A running dispatcher. */
export interface WebhookDispatcher {
  /** Look at the queue now (after an enqueue in this process). */
  wake(): void;
  /** Attempts finished by this dispatcher. */
  readonly attempted: number;
  /** Finish the attempts in flight and stop. Idempotent. */
  stop(): Promise<void>;
}

const DAY = 24 * 3600 * 1000;

/**
 * Deliver queued webhooks: claim due deliveries (leased, so several dispatchers may share a
 * queue and a dead one's claims come back), sign and POST each, log the attempt, and either
 * settle it or schedule the next attempt. A 410 disables the endpoint at once; an endpoint
 * failing for `disableAfterMs` is disabled too. Delivery is at least once: a dispatcher that
 * dies after the POST but before its log write retries after the lease, with the same
 * `webhook-id`, which receivers use to deduplicate.
 */
export function startWebhookDispatcher(options: WebhookDispatcherOptions): WebhookDispatcher {
  if (typeof options !== 'object' || options === null || options.store === undefined) {
    throw new InvalidArgumentError('startWebhookDispatcher needs { store }');
  }
  const dispatcher = new PollingDispatcher(options);
  dispatcher.start();
  return dispatcher;
}

class PollingDispatcher implements WebhookDispatcher {
  attempted = 0;
  private readonly store: WebhookStore;
  private readonly policy: AddressPolicy;
  private readonly schedule: readonly number[];
  private readonly jitter: number;
  private readonly disableAfterMs: number;
  private readonly timeoutMs: number;
  private readonly maxResponseBytes: number;
  private readonly keepBytes: number;
  private readonly concurrency: number;
  private readonly pollMs: number;
  private readonly leaseMs: number;
  private readonly owner: string;
  private readonly metrics: WebhookMetrics;
  private readonly logger: Logger | undefined;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly inFlight = new Set<Promise<void>>();
  private stopped = false;
  private loop: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: WebhookDispatcherOptions) {
    this.store = options.store;
    this.policy = new AddressPolicy(options.allow ?? []);
    this.schedule = checkSchedule(options.retrySchedule ?? DEFAULT_RETRY_SCHEDULE_MS);
    this.jitter = ratio(options.jitter ?? DEFAULT_JITTER, 'jitter');
    this.disableAfterMs = positive(options.disableAfterMs, 5 * DAY, 'disableAfterMs');
    this.timeoutMs = positive(options.timeoutMs, 15_000, 'timeoutMs');
    this.maxResponseBytes = positive(options.maxResponseBytes, 65_536, 'maxResponseBytes');
    this.keepBytes = positive(options.keepResponseBytes, 1024, 'keepResponseBytes');
    this.concurrency = positive(options.concurrency, 8, 'concurrency');
    this.pollMs = positive(options.pollMs, 1000, 'pollMs');
    this.leaseMs = positive(options.leaseMs, 60_000, 'leaseMs');
    if (this.leaseMs <= this.timeoutMs) {
      throw new InvalidArgumentError('leaseMs must be longer than timeoutMs', {
        leaseMs: this.leaseMs,
        timeoutMs: this.timeoutMs,
      });
    }
    this.owner = options.owner ?? `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
    this.metrics = options.metrics ?? new WebhookMetrics(undefined, this.store);
    this.logger = options.logger;
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
  }

  start(): void {
    this.loop = this.run();
  }

  wake(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const resolve = this.wakeUp;
    this.wakeUp = undefined;
    resolve?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake();
    await this.loop;
    await Promise.all(this.inFlight);
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      try {
        const room = this.concurrency - this.inFlight.size;
        const claimed =
          room > 0 ? await this.store.claimDue(this.now(), room, this.owner, this.leaseMs) : [];
        for (const delivery of claimed) {
          const work: Promise<void> = this.attempt(delivery).finally(() => {
            this.inFlight.delete(work);
            this.wake();
          });
          this.inFlight.add(work);
        }
        failures = 0;
        if (claimed.length > 0 && claimed.length === room) continue;
        const next = room > 0 ? await this.store.nextDue(this.now()) : undefined;
        const wait = next === undefined ? this.pollMs : Math.max(1, next - this.now());
        await this.sleep(Math.min(this.pollMs, wait));
      } catch (error) {
        failures++;
        this.logger?.warn({ err: error, failures }, 'webhook dispatcher round failed; retrying');
        await this.sleep(Math.min(5000, 100 * 2 ** failures));
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      this.wakeUp = resolve;
      this.timer = setTimeout(() => this.wake(), ms);
    });
  }

  private async attempt(delivery: WebhookDelivery): Promise<void> {
    try {
      const subscription = await this.store.getSubscription(delivery.subscriptionId);
      // Disabled since the claim: give the claim back, uncounted. (A deleted subscription's
      // deliveries are gone with it.)
      if (subscription === undefined || !subscription.enabled) {
        await this.store.release(delivery.id, this.owner);
        return;
      }
      const at = this.now();
      const { outcome, post, error } = await this.send(subscription, delivery, at);
      this.attempted++;
      this.metrics.observeAttempt(outcome, post.latencyMs / 1000);
      // Delays run from the attempt's end, so a slow or timed-out attempt still leaves them.
      const result = await this.settle(subscription, delivery, outcome, this.now());
      const attempt: DeliveryAttempt = {
        deliveryId: delivery.id,
        subscriptionId: subscription.id,
        eventId: delivery.eventId,
        attempt: delivery.attempts,
        at,
        outcome,
        latencyMs: post.latencyMs,
        response: post.body,
      };
      if (post.status !== undefined) attempt.status = post.status;
      if (error !== undefined) attempt.error = error;
      const recorded = await this.store.recordAttempt(this.owner, attempt, result);
      if (!recorded) {
        this.logger?.warn(
          { deliveryId: delivery.id },
          'webhook delivery lease lost before its attempt was recorded; another dispatcher retries it',
        );
      }
    } catch (error) {
      // The claim stays until its lease ends, then the delivery is tried again.
      this.logger?.error({ err: error, deliveryId: delivery.id }, 'webhook attempt failed');
    }
  }

  private async send(
    subscription: WebhookSubscription,
    delivery: WebhookDelivery,
    at: number,
  ): Promise<{ outcome: AttemptOutcome; post: PostResult; error?: string }> {
    let target;
    try {
      target = await resolveTarget(subscription.url, this.policy, this.options.resolve);
    } catch (error) {
      const message = (error as Error).message;
      const outcome = isEventFabricError(error) ? 'refused' : 'error';
      return { outcome, post: { body: '', latencyMs: 0, timedOut: false }, error: message };
    }
    const secrets = subscription.secrets
      .filter((s) => s.expiresAt === undefined || s.expiresAt > at)
      .map((s) => s.secret);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'EventFabric-Webhooks/0.1',
      ...signStandardWebhook(secrets, {
        id: delivery.eventId,
        timestamp: Math.floor(at / 1000),
        body: delivery.payload,
      }),
    };
    const traceparent = traceparentOf(delivery.payload);
    if (traceparent !== undefined) headers.traceparent = traceparent;
    const post = await postTo(target, {
      headers,
      body: delivery.payload,
      timeoutMs: this.timeoutMs,
      maxResponseBytes: this.maxResponseBytes,
      keepBytes: this.keepBytes,
    });
    if (post.timedOut) return { outcome: 'timeout', post, error: post.error };
    if (post.status === undefined) return { outcome: 'error', post, error: post.error };
    if (post.status >= 200 && post.status < 300) return { outcome: 'delivered', post };
    if (post.status === 410) return { outcome: 'gone', post };
    return { outcome: 'failed', post, error: `HTTP ${post.status}` };
  }

  private async settle(
    subscription: WebhookSubscription,
    delivery: WebhookDelivery,
    outcome: AttemptOutcome,
    at: number,
  ): Promise<AttemptResult> {
    if (outcome === 'delivered') {
      await this.store.noteOutcome(subscription.id, true, at);
      this.metrics.deliveries.inc({ outcome: 'delivered' });
      return { status: 'delivered', nextAttemptAt: at };
    }
    if (outcome === 'gone') {
      await this.disable(subscription, 'gone', at);
      this.metrics.deliveries.inc({ outcome: 'failed' });
      return { status: 'failed', nextAttemptAt: at };
    }
    const failingSince = (await this.store.noteOutcome(subscription.id, false, at)) ?? at;
    if (at - failingSince >= this.disableAfterMs) await this.disable(subscription, 'failing', at);
    const delay = nextDelay(this.schedule, delivery.attempts, this.jitter, this.random);
    if (delay === undefined) {
      this.metrics.deliveries.inc({ outcome: 'failed' });
      return { status: 'failed', nextAttemptAt: at };
    }
    this.metrics.deliveries.inc({ outcome: 'retried' });
    return { status: 'pending', nextAttemptAt: at + delay };
  }

  private async disable(subscription: WebhookSubscription, reason: string, at: number) {
    if (await this.store.disableSubscription(subscription.id, reason, at)) {
      this.metrics.disabled.inc({ reason });
      this.logger?.warn(
        { subscriptionId: subscription.id, tenant: subscription.tenant, reason },
        'webhook endpoint disabled',
      );
    }
  }
}

function traceparentOf(payload: string): string | undefined {
  try {
    const value = (JSON.parse(payload) as { traceparent?: unknown }).traceparent;
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}

function positive(value: unknown, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new InvalidArgumentError(`${name} must be a positive integer`, {
      [name]: value as never,
    });
  }
  return value;
}

function ratio(value: unknown, name: string): number {
  if (typeof value !== 'number' || !(value >= 0 && value < 1)) {
    throw new InvalidArgumentError(`${name} must be a number from 0 to below 1`, {
      [name]: value as never,
    });
  }
  return value;
}
