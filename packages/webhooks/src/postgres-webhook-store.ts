import type { Pool, PoolClient } from 'pg';
import { InvalidArgumentError, StoreUnavailableError, isEventFabricError } from '@eventfabric/core';
import type { PostgresRecordsTarget } from '@eventfabric/postgres';
import {
  subscriptionParams,
  toAttempt,
  toDelivery,
  toSubscription,
  type AttemptRow,
  type DeliveryRow,
  type SubscriptionRow,
} from './store-rows.js';
import type {
  AttemptResult,
  DeliveryAttempt,
  DeliveryFilter,
  NewDelivery,
  WebhookDelivery,
  WebhookStore,
  WebhookSubscription,
} from './webhook-store.js';

const DELIVERY_COLUMNS = `id, seq, subscription_id, tenant, event_id, event_type, payload, status,
  attempts, next_attempt_at, created_at, last_attempt_at, last_status, last_error`;
const SUBSCRIPTION_COLUMNS = [
  'id',
  'tenant',
  'url',
  'types',
  'description',
  'secrets',
  'ordered',
  'enabled',
  'disabled_reason',
  'disabled_at',
  'failing_since',
  'created_at',
  'updated_at',
] as const;

/**
 * Webhook state in the store's PostgreSQL schema (migration 009). Each write is one
 * autocommitted statement or one transaction; claims are `FOR UPDATE SKIP LOCKED`, so
 * dispatchers in any number of processes never claim one delivery while its lease runs.
 */
export class PostgresWebhookStore implements WebhookStore {
  private readonly pool: Pool;
  private readonly s: string;

  constructor(target: PostgresRecordsTarget) {
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(target.schema)) {
      throw new InvalidArgumentError(`invalid schema name ${target.schema}`, {
        schema: target.schema,
      });
    }
    this.pool = target.pool;
    this.s = `"${target.schema}"`;
  }

  async createSubscription(subscription: WebhookSubscription): Promise<void> {
    const params = subscriptionParams(subscription);
    await this.query(
      `INSERT INTO ${this.s}.webhook_subscriptions (${SUBSCRIPTION_COLUMNS.join(', ')})
       VALUES (${SUBSCRIPTION_COLUMNS.map((_, i) => `$${i + 1}`).join(', ')})`,
      SUBSCRIPTION_COLUMNS.map((c) => params[c]),
    );
  }

  async getSubscription(id: string): Promise<WebhookSubscription | undefined> {
    const rows = await this.query<SubscriptionRow>(
      `SELECT * FROM ${this.s}.webhook_subscriptions WHERE id = $1`,
      [id],
    );
    return rows[0] === undefined ? undefined : toSubscription(rows[0]);
  }

  async listSubscriptions(filter: {
    tenant?: string;
    enabledOnly?: boolean;
  }): Promise<WebhookSubscription[]> {
    const rows = await this.query<SubscriptionRow>(
      `SELECT * FROM ${this.s}.webhook_subscriptions
       WHERE ($1::text IS NULL OR tenant = $1) AND (NOT $2 OR enabled = 1)
       ORDER BY created_at, id`,
      [filter.tenant ?? null, filter.enabledOnly === true],
    );
    return rows.map(toSubscription);
  }

  async updateSubscription(subscription: WebhookSubscription): Promise<void> {
    const p = subscriptionParams(subscription);
    await this.query(
      `UPDATE ${this.s}.webhook_subscriptions SET url = $2, types = $3, description = $4,
       secrets = $5, ordered = $6, enabled = $7, disabled_reason = $8, disabled_at = $9,
       failing_since = $10, updated_at = $11 WHERE id = $1`,
      [
        p.id,
        p.url,
        p.types,
        p.description,
        p.secrets,
        p.ordered,
        p.enabled,
        p.disabled_reason,
        p.disabled_at,
        p.failing_since,
        p.updated_at,
      ],
    );
  }

  async deleteSubscription(id: string): Promise<boolean> {
    return this.transaction(async (client) => {
      const gone = await client.query(`DELETE FROM ${this.s}.webhook_subscriptions WHERE id = $1`, [
        id,
      ]);
      await client.query(`DELETE FROM ${this.s}.webhook_deliveries WHERE subscription_id = $1`, [
        id,
      ]);
      await client.query(`DELETE FROM ${this.s}.webhook_attempts WHERE subscription_id = $1`, [id]);
      return gone.rowCount === 1;
    });
  }

  async disableSubscription(id: string, reason: string, now: number): Promise<boolean> {
    const result = await this.pool
      .query(
        `UPDATE ${this.s}.webhook_subscriptions SET enabled = 0, disabled_reason = $2,
         disabled_at = $3, updated_at = $3 WHERE id = $1 AND enabled = 1`,
        [id, reason, now],
      )
      .catch(unavailable);
    return result.rowCount === 1;
  }

  async noteOutcome(id: string, ok: boolean, now: number): Promise<number | undefined> {
    if (ok) {
      await this.query(
        `UPDATE ${this.s}.webhook_subscriptions SET failing_since = NULL
         WHERE id = $1 AND failing_since IS NOT NULL`,
        [id],
      );
      return undefined;
    }
    const rows = await this.query<{ failing_since: string }>(
      `UPDATE ${this.s}.webhook_subscriptions SET failing_since = coalesce(failing_since, $2)
       WHERE id = $1 RETURNING failing_since`,
      [id, now],
    );
    return rows[0] === undefined ? undefined : Number(rows[0].failing_since);
  }

  async enqueue(
    deliveries: readonly NewDelivery[],
    options: { resetFailed?: boolean } = {},
  ): Promise<number> {
    if (deliveries.length === 0) return 0;
    const conflict =
      options.resetFailed === true
        ? `DO UPDATE SET status = 'pending', attempts = 0, next_attempt_at = excluded.next_attempt_at
           WHERE d.status = 'failed'`
        : 'DO NOTHING';
    const column = <K extends keyof NewDelivery>(key: K) => deliveries.map((d) => d[key]);
    const result = await this.pool
      .query(
        `INSERT INTO ${this.s}.webhook_deliveries AS d (id, subscription_id, tenant, event_id,
         event_type, payload, next_attempt_at, created_at)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
           $6::text[], $7::bigint[], $8::bigint[]) WITH ORDINALITY AS u(a, b, c, e, f, g, h, i, n)
         ORDER BY n
         ON CONFLICT (subscription_id, event_id) ${conflict}`.replace(
          'SELECT * FROM',
          'SELECT a, b, c, e, f, g, h, i FROM',
        ),
        [
          column('id'),
          column('subscriptionId'),
          column('tenant'),
          column('eventId'),
          column('eventType'),
          column('payload'),
          column('nextAttemptAt'),
          column('createdAt'),
        ],
      )
      .catch(unavailable);
    return result.rowCount ?? 0;
  }

  async claimDue(
    now: number,
    limit: number,
    owner: string,
    leaseMs: number,
  ): Promise<WebhookDelivery[]> {
    const rows = await this.query<DeliveryRow>(
      `UPDATE ${this.s}.webhook_deliveries w
       SET locked_by = $3, locked_until = $1::bigint + $4, attempts = w.attempts + 1
       WHERE w.id IN (
         SELECT d.id FROM ${this.s}.webhook_deliveries d
         JOIN ${this.s}.webhook_subscriptions s ON s.id = d.subscription_id
         WHERE d.status = 'pending' AND d.next_attempt_at <= $1 AND d.locked_until <= $1
           AND s.enabled = 1
           AND (s.ordered = 0 OR NOT EXISTS (SELECT 1 FROM ${this.s}.webhook_deliveries e
             WHERE e.subscription_id = d.subscription_id AND e.status = 'pending' AND e.seq < d.seq))
         ORDER BY d.next_attempt_at, d.seq LIMIT $2
         FOR UPDATE OF d SKIP LOCKED)
       RETURNING ${DELIVERY_COLUMNS.replace(/(\w+)/g, 'w.$1')}`,
      [now, limit, owner, leaseMs],
    );
    return rows.map(toDelivery).sort((a, b) => a.nextAttemptAt - b.nextAttemptAt || a.seq - b.seq);
  }

  async recordAttempt(
    owner: string,
    attempt: DeliveryAttempt,
    result: AttemptResult,
  ): Promise<boolean> {
    return this.transaction(async (client) => {
      const settled = await client.query(
        `UPDATE ${this.s}.webhook_deliveries SET status = $3, next_attempt_at = $4,
         locked_by = NULL, locked_until = 0, last_attempt_at = $5, last_status = $6,
         last_error = $7 WHERE id = $1 AND locked_by = $2`,
        [
          attempt.deliveryId,
          owner,
          result.status,
          result.nextAttemptAt,
          attempt.at,
          attempt.status ?? null,
          attempt.error ?? null,
        ],
      );
      if (settled.rowCount !== 1) return false;
      await client.query(
        `INSERT INTO ${this.s}.webhook_attempts (delivery_id, subscription_id, event_id, attempt,
         at, outcome, status, latency_ms, response, error)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
        [
          attempt.deliveryId,
          attempt.subscriptionId,
          attempt.eventId,
          attempt.attempt,
          attempt.at,
          attempt.outcome,
          attempt.status ?? null,
          Math.round(attempt.latencyMs),
          attempt.response,
          attempt.error ?? null,
        ],
      );
      return true;
    });
  }

  async release(id: string, owner: string): Promise<void> {
    await this.query(
      `UPDATE ${this.s}.webhook_deliveries SET locked_by = NULL, locked_until = 0,
       attempts = attempts - 1 WHERE id = $1 AND locked_by = $2`,
      [id, owner],
    );
  }

  async resend(id: string, now: number): Promise<boolean> {
    const result = await this.pool
      .query(
        `UPDATE ${this.s}.webhook_deliveries SET status = 'pending', attempts = 0,
         next_attempt_at = $2, locked_by = NULL, locked_until = 0 WHERE id = $1`,
        [id, now],
      )
      .catch(unavailable);
    return result.rowCount === 1;
  }

  async getDelivery(id: string): Promise<WebhookDelivery | undefined> {
    const rows = await this.query<DeliveryRow>(
      `SELECT ${DELIVERY_COLUMNS} FROM ${this.s}.webhook_deliveries WHERE id = $1`,
      [id],
    );
    return rows[0] === undefined ? undefined : toDelivery(rows[0]);
  }

  async listDeliveries(filter: DeliveryFilter): Promise<WebhookDelivery[]> {
    const rows = await this.query<DeliveryRow>(
      `SELECT ${DELIVERY_COLUMNS} FROM ${this.s}.webhook_deliveries
       WHERE subscription_id = $1 AND ($2::text IS NULL OR status = $2)
       ORDER BY seq DESC LIMIT $3`,
      [filter.subscriptionId, filter.status ?? null, filter.limit],
    );
    return rows.map(toDelivery);
  }

  async listAttempts(filter: {
    deliveryId?: string;
    subscriptionId?: string;
    limit: number;
  }): Promise<DeliveryAttempt[]> {
    const byDelivery = filter.deliveryId !== undefined;
    const rows = await this.query<AttemptRow>(
      `SELECT * FROM ${this.s}.webhook_attempts
       WHERE ${byDelivery ? 'delivery_id' : 'subscription_id'} = $1 ORDER BY seq DESC LIMIT $2`,
      [byDelivery ? filter.deliveryId : filter.subscriptionId, filter.limit],
    );
    return rows.map(toAttempt);
  }

  async pendingCount(): Promise<number> {
    const rows = await this.query<{ n: string }>(
      `SELECT count(*) AS n FROM ${this.s}.webhook_deliveries WHERE status = 'pending'`,
      [],
    );
    return Number(rows[0]?.n ?? 0);
  }

  async nextDue(): Promise<number | undefined> {
    const rows = await this.query<{ next: string | null }>(
      `SELECT min(greatest(d.next_attempt_at, d.locked_until)) AS next
       FROM ${this.s}.webhook_deliveries d
       JOIN ${this.s}.webhook_subscriptions s ON s.id = d.subscription_id
       WHERE d.status = 'pending' AND s.enabled = 1`,
      [],
    );
    const next = rows[0]?.next;
    return next === null || next === undefined ? undefined : Number(next);
  }

  close(): void {
    // The pool is the event store's: its owner closes it.
  }

  private async query<R extends object>(sql: string, params: unknown[]): Promise<R[]> {
    const result = await this.pool.query<R>(sql, params).catch(unavailable);
    return result.rows;
  }

  private async transaction<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect().catch(unavailable);
    const onError = (): void => undefined;
    client.on('error', onError);
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      return unavailable(error);
    } finally {
      client.removeListener('error', onError);
      client.release();
    }
  }
}

/** A webhook store in a PostgreSQL store's schema (pass the store: it has `pool` and `schema`). */
export function createPostgresWebhookStore(target: PostgresRecordsTarget): PostgresWebhookStore {
  return new PostgresWebhookStore(target);
}

function unavailable(error: unknown): never {
  if (isEventFabricError(error)) throw error;
  throw new StoreUnavailableError(
    `PostgreSQL: ${(error as Error).message}`,
    {
      code: (error as { code?: string }).code ?? null,
      retryable: true,
    },
    { cause: error },
  );
}
