import { randomUUID } from 'node:crypto';
import {
  InvalidArgumentError,
  NotFoundError,
  type EventStore,
  type StoredEvent,
} from '@eventfabric/core';
import { AddressPolicy } from './address-policy.js';
import { deliveryOf, receives } from './fanout.js';
import { generateSecret } from './secrets.js';
import {
  checkCreateInput,
  checkUpdateInput,
  type CreateSubscriptionInput,
  type UpdateSubscriptionInput,
} from './subscription-input.js';
import { resolveTarget, type Resolve } from './target-resolver.js';
import type {
  DeliveryAttempt,
  DeliveryStatus,
  WebhookDelivery,
  WebhookStore,
  WebhookSubscription,
} from './webhook-store.js';

/** Options for {@link WebhookService}. */
export interface WebhookServiceOptions {
  store: WebhookStore;
  /** The event log `recover` reads. @defaultValue none: recover fails with INVALID_ARGUMENT */
  events?: Pick<EventStore, 'readAll'>;
  /** Allowlisted private ranges; the same list the dispatcher gets. @defaultValue none */
  allow?: readonly string[];
  resolve?: Resolve;
  /** How long a rotated-out secret keeps signing. @defaultValue 24 h */
  rotationOverlapMs?: number;
  /** Called when deliveries were queued by resend or recover (the dispatcher's wake-up). */
  onEnqueued?: () => void;
  now?: () => number;
}

/**
 * A subscription as the API shows it: everything but the secrets (shown once, when created
 * or rotated), plus the number of secrets signing now.
 */
export type SubscriptionView = Omit<WebhookSubscription, 'secrets'> & { signingSecrets: number };

/** A tenant's view of webhooks; `tenant` undefined sees every tenant (open mode, operators). */
export type Tenant = string | undefined;

const DAY = 24 * 3600 * 1000;
const RECOVER_PAGE = 1000;

/**
 * Manage webhook subscriptions, read the delivery log, resend and recover. Every method
 * takes the caller's tenant: another tenant's subscription or delivery reads as NOT_FOUND.
 * Every input is checked before anything is written.
 */
export class WebhookService {
  readonly store: WebhookStore;
  private readonly policy: AddressPolicy;
  private readonly overlapMs: number;
  private readonly now: () => number;

  constructor(private readonly options: WebhookServiceOptions) {
    this.store = options.store;
    this.policy = new AddressPolicy(options.allow ?? []);
    this.overlapMs = options.rotationOverlapMs ?? DAY;
    this.now = options.now ?? Date.now;
  }

  /** @throws InvalidArgumentError, WebhookTargetRefusedError; nothing is stored */
  async create(tenant: Tenant, input: unknown): Promise<SubscriptionView & { secret: string }> {
    const checked: CreateSubscriptionInput = checkCreateInput(input);
    if (tenant !== undefined && checked.tenant !== undefined && checked.tenant !== tenant) {
      throw new InvalidArgumentError('tenant is set by the API key', { field: 'tenant' });
    }
    await resolveTarget(checked.url, this.policy, this.options.resolve);
    const now = this.now();
    const secret = checked.secret ?? generateSecret();
    const subscription: WebhookSubscription = {
      id: randomUUID(),
      tenant: tenant ?? checked.tenant ?? '',
      url: checked.url,
      types: checked.types ?? ['*'],
      description: checked.description ?? '',
      secrets: [{ secret, createdAt: now }],
      ordered: checked.ordered ?? false,
      enabled: true,
      createdAt: now,
      updatedAt: now,
    };
    await this.store.createSubscription(subscription);
    return { ...view(subscription, now), secret };
  }

  async list(tenant: Tenant): Promise<SubscriptionView[]> {
    const now = this.now();
    return (await this.store.listSubscriptions({ tenant })).map((s) => view(s, now));
  }

  async get(tenant: Tenant, id: string): Promise<SubscriptionView> {
    return view(await this.own(tenant, id), this.now());
  }

  /** @throws InvalidArgumentError, WebhookTargetRefusedError, NotFoundError; nothing changes */
  async update(tenant: Tenant, id: string, input: unknown): Promise<SubscriptionView> {
    const patch: UpdateSubscriptionInput = checkUpdateInput(input);
    const current = await this.own(tenant, id);
    if (patch.url !== undefined) await resolveTarget(patch.url, this.policy, this.options.resolve);
    const now = this.now();
    const next: WebhookSubscription = {
      ...current,
      url: patch.url ?? current.url,
      types: patch.types ?? current.types,
      description: patch.description ?? current.description,
      ordered: patch.ordered ?? current.ordered,
      updatedAt: now,
    };
    if (patch.enabled === true && !current.enabled) {
      next.enabled = true;
      delete next.disabledReason;
      delete next.disabledAt;
      delete next.failingSince;
    } else if (patch.enabled === false && current.enabled) {
      next.enabled = false;
      next.disabledReason = 'manual';
      next.disabledAt = now;
    }
    await this.store.updateSubscription(next);
    if (next.enabled && !current.enabled) this.options.onEnqueued?.();
    return view(next, now);
  }

  async delete(tenant: Tenant, id: string): Promise<void> {
    await this.own(tenant, id);
    await this.store.deleteSubscription(id);
  }

  /**
   * Start signing with a new secret (given, or generated); the previous ones keep signing
   * for `overlapMs`, so receivers can switch without missing a delivery.
   */
  async rotateSecret(
    tenant: Tenant,
    id: string,
    input: unknown = {},
  ): Promise<SubscriptionView & { secret: string }> {
    const raw = (input ?? {}) as Record<string, unknown>;
    if (typeof raw !== 'object' || Array.isArray(raw)) {
      throw new InvalidArgumentError('the rotation must be an object: { secret, overlapMs }', {
        field: '',
      });
    }
    for (const key of Object.keys(raw)) {
      if (key !== 'secret' && key !== 'overlapMs') {
        throw new InvalidArgumentError(`unknown field "${key}"; expected secret, overlapMs`, {
          field: key,
        });
      }
    }
    const overlap = raw.overlapMs ?? this.overlapMs;
    if (typeof overlap !== 'number' || !Number.isSafeInteger(overlap) || overlap < 0) {
      throw new InvalidArgumentError('overlapMs must be an integer ≥ 0', { field: 'overlapMs' });
    }
    const secret =
      raw.secret === undefined
        ? generateSecret()
        : checkCreateInput({ url: 'http://x', secret: raw.secret }).secret!;
    const current = await this.own(tenant, id);
    const now = this.now();
    const kept = current.secrets
      .filter((s) => s.expiresAt === undefined || s.expiresAt > now)
      .map((s) => ({
        ...s,
        expiresAt: Math.min(s.expiresAt ?? Number.MAX_SAFE_INTEGER, now + overlap),
      }))
      .filter((s) => s.expiresAt > now);
    const next: WebhookSubscription = {
      ...current,
      secrets: [{ secret, createdAt: now }, ...kept],
      updatedAt: now,
    };
    await this.store.updateSubscription(next);
    return { ...view(next, now), secret };
  }

  async deliveries(
    tenant: Tenant,
    id: string,
    filter: { status?: DeliveryStatus; limit?: number } = {},
  ): Promise<WebhookDelivery[]> {
    await this.own(tenant, id);
    return this.store.listDeliveries({
      subscriptionId: id,
      status: filter.status,
      limit: filter.limit ?? 100,
    });
  }

  async attempts(tenant: Tenant, id: string, limit = 100): Promise<DeliveryAttempt[]> {
    await this.own(tenant, id);
    return this.store.listAttempts({ subscriptionId: id, limit });
  }

  /** One delivery with its attempts, newest first. */
  async delivery(
    tenant: Tenant,
    deliveryId: string,
  ): Promise<{ delivery: WebhookDelivery; attempts: DeliveryAttempt[] }> {
    const delivery = await this.ownDelivery(tenant, deliveryId);
    const attempts = await this.store.listAttempts({ deliveryId, limit: 1000 });
    return { delivery, attempts };
  }

  /** Send one delivery again now, whatever its state, with a fresh retry schedule. */
  async resend(tenant: Tenant, deliveryId: string): Promise<WebhookDelivery> {
    await this.ownDelivery(tenant, deliveryId);
    await this.store.resend(deliveryId, this.now());
    this.options.onEnqueued?.();
    return (await this.store.getDelivery(deliveryId))!;
  }

  /**
   * Queue every event of the log whose `time` is at or after `since` that the subscription
   * receives and that was never delivered: missing ones are enqueued, failed ones revived.
   * Delivered ones are left alone.
   */
  async recover(tenant: Tenant, id: string, since: unknown): Promise<{ enqueued: number }> {
    const sinceMs =
      typeof since === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(since) ? Date.parse(since) : NaN;
    if (Number.isNaN(sinceMs)) {
      throw new InvalidArgumentError('since must be an RFC 3339 time', { field: 'since' });
    }
    const events = this.options.events;
    if (events === undefined) {
      throw new InvalidArgumentError('recover needs the event store', { field: 'events' });
    }
    const subscription = await this.own(tenant, id);
    const now = this.now();
    let enqueued = 0;
    let after: string | undefined;
    for (;;) {
      const page: StoredEvent[] = await events.readAll({ after, limit: RECOVER_PAGE, raw: true });
      const wanted = page.filter(
        (e) => receives(subscription, e) && Date.parse(e.time ?? '') >= sinceMs,
      );
      enqueued += await this.store.enqueue(
        wanted.map((e) => deliveryOf(subscription, e, now)),
        { resetFailed: true },
      );
      if (page.length < RECOVER_PAGE) break;
      after = page[page.length - 1]!.position;
    }
    if (enqueued > 0) this.options.onEnqueued?.();
    return { enqueued };
  }

  private async own(tenant: Tenant, id: string): Promise<WebhookSubscription> {
    const subscription =
      typeof id === 'string' && id !== '' ? await this.store.getSubscription(id) : undefined;
    if (subscription === undefined || (tenant !== undefined && subscription.tenant !== tenant)) {
      throw new NotFoundError(`webhook subscription ${id} not found`, {
        resource: 'webhook',
        id,
      });
    }
    return subscription;
  }

  private async ownDelivery(tenant: Tenant, deliveryId: string): Promise<WebhookDelivery> {
    const delivery =
      typeof deliveryId === 'string' && deliveryId !== ''
        ? await this.store.getDelivery(deliveryId)
        : undefined;
    if (delivery === undefined || (tenant !== undefined && delivery.tenant !== tenant)) {
      throw new NotFoundError(`webhook delivery ${deliveryId} not found`, {
        resource: 'webhook-delivery',
        id: deliveryId,
      });
    }
    return delivery;
  }
}

function view(subscription: WebhookSubscription, now: number): SubscriptionView {
  const { secrets, ...rest } = subscription;
  return {
    ...rest,
    signingSecrets: secrets.filter((s) => s.expiresAt === undefined || s.expiresAt > now).length,
  };
}
