import type Database from 'better-sqlite3';
import {
  connectionLock,
  openTarget,
  releaseConnection,
  type ConnectionLock,
  type SqliteTarget,
} from '@eventfabric/sqlite';
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

/**
 * Webhook state in the store's SQLite file (migration 008), through the file's shared
 * connection and its lock, so writes never join a transactional handler's transaction.
 * Claims and attempt records are each one `BEGIN IMMEDIATE` transaction.
 */
export class SqliteWebhookStore implements WebhookStore {
  private readonly db: Database.Database;
  private readonly owned: boolean;
  private readonly lock: ConnectionLock;
  private readonly s: Record<string, Database.Statement>;
  private readonly claimTx: (
    now: number,
    limit: number,
    owner: string,
    leaseMs: number,
  ) => DeliveryRow[];
  private readonly recordTx: (owner: string, a: DeliveryAttempt, r: AttemptResult) => boolean;
  private readonly enqueueTx: (deliveries: readonly NewDelivery[], reset: boolean) => number;
  private readonly deleteTx: (id: string) => boolean;

  constructor(target: SqliteTarget) {
    ({ db: this.db, owned: this.owned } = openTarget(target));
    this.lock = connectionLock(this.db);
    const db = this.db;
    const subscriptionColumns =
      'id, tenant, url, types, description, secrets, ordered, enabled, disabled_reason, disabled_at, failing_since, created_at, updated_at';
    this.s = {
      insertSubscription: db.prepare(
        `INSERT INTO webhook_subscriptions (${subscriptionColumns}) VALUES (@id, @tenant, @url, @types,
         @description, @secrets, @ordered, @enabled, @disabled_reason, @disabled_at, @failing_since,
         @created_at, @updated_at)`,
      ),
      getSubscription: db.prepare('SELECT * FROM webhook_subscriptions WHERE id = ?'),
      listAll: db.prepare(
        'SELECT * FROM webhook_subscriptions WHERE (@enabledOnly = 0 OR enabled = 1) ORDER BY created_at, id',
      ),
      listTenant: db.prepare(
        `SELECT * FROM webhook_subscriptions WHERE tenant = @tenant AND (@enabledOnly = 0 OR enabled = 1)
         ORDER BY created_at, id`,
      ),
      updateSubscription: db.prepare(
        `UPDATE webhook_subscriptions SET url = @url, types = @types, description = @description,
         secrets = @secrets, ordered = @ordered, enabled = @enabled, disabled_reason = @disabled_reason,
         disabled_at = @disabled_at, failing_since = @failing_since, updated_at = @updated_at WHERE id = @id`,
      ),
      deleteSubscription: db.prepare('DELETE FROM webhook_subscriptions WHERE id = ?'),
      deleteDeliveries: db.prepare('DELETE FROM webhook_deliveries WHERE subscription_id = ?'),
      deleteAttempts: db.prepare('DELETE FROM webhook_attempts WHERE subscription_id = ?'),
      disable: db.prepare(
        `UPDATE webhook_subscriptions SET enabled = 0, disabled_reason = ?, disabled_at = ?, updated_at = ?
         WHERE id = ? AND enabled = 1`,
      ),
      succeeded: db.prepare('UPDATE webhook_subscriptions SET failing_since = NULL WHERE id = ?'),
      failed: db.prepare(
        `UPDATE webhook_subscriptions SET failing_since = coalesce(failing_since, ?) WHERE id = ?
         RETURNING failing_since`,
      ),
      insertDelivery: db.prepare(
        `INSERT INTO webhook_deliveries (id, subscription_id, tenant, event_id, event_type, payload,
         next_attempt_at, created_at) VALUES (@id, @subscriptionId, @tenant, @eventId, @eventType, @payload,
         @nextAttemptAt, @createdAt) ON CONFLICT (subscription_id, event_id) DO NOTHING`,
      ),
      reviveDelivery: db.prepare(
        `INSERT INTO webhook_deliveries (id, subscription_id, tenant, event_id, event_type, payload,
         next_attempt_at, created_at) VALUES (@id, @subscriptionId, @tenant, @eventId, @eventType, @payload,
         @nextAttemptAt, @createdAt) ON CONFLICT (subscription_id, event_id) DO UPDATE SET
         status = 'pending', attempts = 0, next_attempt_at = excluded.next_attempt_at
         WHERE webhook_deliveries.status = 'failed'`,
      ),
      selectDue: db.prepare(
        `SELECT ${DELIVERY_COLUMNS.replace(/(\w+)/g, 'd.$1')} FROM webhook_deliveries d
         JOIN webhook_subscriptions s ON s.id = d.subscription_id
         WHERE d.status = 'pending' AND d.next_attempt_at <= @now AND d.locked_until <= @now
           AND s.enabled = 1
           AND (s.ordered = 0 OR NOT EXISTS (SELECT 1 FROM webhook_deliveries e
             WHERE e.subscription_id = d.subscription_id AND e.status = 'pending' AND e.seq < d.seq))
         ORDER BY d.next_attempt_at, d.seq LIMIT @limit`,
      ),
      take: db.prepare(
        `UPDATE webhook_deliveries SET locked_by = @owner, locked_until = @until, attempts = attempts + 1
         WHERE id = @id`,
      ),
      insertAttempt: db.prepare(
        `INSERT INTO webhook_attempts (delivery_id, subscription_id, event_id, attempt, at, outcome,
         status, latency_ms, response, error) VALUES (@deliveryId, @subscriptionId, @eventId, @attempt,
         @at, @outcome, @status, @latencyMs, @response, @error)`,
      ),
      settle: db.prepare(
        `UPDATE webhook_deliveries SET status = @status, next_attempt_at = @nextAttemptAt,
         locked_by = NULL, locked_until = 0, last_attempt_at = @at, last_status = @httpStatus,
         last_error = @error WHERE id = @id AND locked_by = @owner`,
      ),
      release: db.prepare(
        `UPDATE webhook_deliveries SET locked_by = NULL, locked_until = 0, attempts = attempts - 1
         WHERE id = ? AND locked_by = ?`,
      ),
      resend: db.prepare(
        `UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = ?,
         locked_by = NULL, locked_until = 0 WHERE id = ?`,
      ),
      getDelivery: db.prepare(`SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries WHERE id = ?`),
      listDeliveries: db.prepare(
        `SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries WHERE subscription_id = @subscriptionId
         AND (@status IS NULL OR status = @status) ORDER BY seq DESC LIMIT @limit`,
      ),
      attemptsOfDelivery: db.prepare(
        'SELECT * FROM webhook_attempts WHERE delivery_id = ? ORDER BY seq DESC LIMIT ?',
      ),
      attemptsOfSubscription: db.prepare(
        'SELECT * FROM webhook_attempts WHERE subscription_id = ? ORDER BY seq DESC LIMIT ?',
      ),
      pending: db
        .prepare("SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'")
        .pluck(),
      nextDue: db
        .prepare(
          `SELECT min(max(d.next_attempt_at, d.locked_until)) FROM webhook_deliveries d
           JOIN webhook_subscriptions s ON s.id = d.subscription_id
           WHERE d.status = 'pending' AND s.enabled = 1`,
        )
        .pluck(),
    };
    const s = this.s;
    const claim = db.transaction((now: number, limit: number, owner: string, leaseMs: number) => {
      const rows = s.selectDue!.all({ now, limit }) as DeliveryRow[];
      for (const row of rows) {
        s.take!.run({ owner, until: now + leaseMs, id: row.id });
        row.attempts += 1;
      }
      return rows;
    });
    this.claimTx = (now, limit, owner, leaseMs) => claim.immediate(now, limit, owner, leaseMs);
    const record = db.transaction((owner: string, a: DeliveryAttempt, r: AttemptResult) => {
      const settled = s.settle!.run({
        id: a.deliveryId,
        owner,
        status: r.status,
        nextAttemptAt: r.nextAttemptAt,
        at: a.at,
        httpStatus: a.status ?? null,
        error: a.error ?? null,
      });
      if (settled.changes !== 1) return false;
      s.insertAttempt!.run(attemptParams(a));
      return true;
    });
    this.recordTx = (owner, a, r) => record.immediate(owner, a, r);
    const enqueue = db.transaction((deliveries: readonly NewDelivery[], reset: boolean) => {
      const statement = reset ? s.reviveDelivery! : s.insertDelivery!;
      let changed = 0;
      for (const d of deliveries) changed += statement.run({ ...d }).changes;
      return changed;
    });
    this.enqueueTx = (deliveries, reset) => enqueue.immediate(deliveries, reset);
    const remove = db.transaction((id: string) => {
      const gone = s.deleteSubscription!.run(id).changes === 1;
      s.deleteDeliveries!.run(id);
      s.deleteAttempts!.run(id);
      return gone;
    });
    this.deleteTx = (id) => remove.immediate(id);
  }

  async createSubscription(subscription: WebhookSubscription): Promise<void> {
    await this.lock.run(() => this.s.insertSubscription!.run(subscriptionParams(subscription)));
  }

  async getSubscription(id: string): Promise<WebhookSubscription | undefined> {
    const row = await this.lock.run(
      () => this.s.getSubscription!.get(id) as SubscriptionRow | undefined,
    );
    return row === undefined ? undefined : toSubscription(row);
  }

  async listSubscriptions(filter: {
    tenant?: string;
    enabledOnly?: boolean;
  }): Promise<WebhookSubscription[]> {
    const enabledOnly = filter.enabledOnly === true ? 1 : 0;
    const rows = await this.lock.run(
      () =>
        (filter.tenant === undefined
          ? this.s.listAll!.all({ enabledOnly })
          : this.s.listTenant!.all({ tenant: filter.tenant, enabledOnly })) as SubscriptionRow[],
    );
    return rows.map(toSubscription);
  }

  async updateSubscription(subscription: WebhookSubscription): Promise<void> {
    await this.lock.run(() => this.s.updateSubscription!.run(subscriptionParams(subscription)));
  }

  async deleteSubscription(id: string): Promise<boolean> {
    return this.lock.run(() => this.deleteTx(id));
  }

  async disableSubscription(id: string, reason: string, now: number): Promise<boolean> {
    return (await this.lock.run(() => this.s.disable!.run(reason, now, now, id))).changes === 1;
  }

  async noteOutcome(id: string, ok: boolean, now: number): Promise<number | undefined> {
    if (ok) {
      await this.lock.run(() => this.s.succeeded!.run(id));
      return undefined;
    }
    const row = await this.lock.run(
      () => this.s.failed!.get(now, id) as { failing_since: number } | undefined,
    );
    return row?.failing_since;
  }

  async enqueue(
    deliveries: readonly NewDelivery[],
    options: { resetFailed?: boolean } = {},
  ): Promise<number> {
    if (deliveries.length === 0) return 0;
    return this.lock.run(() => this.enqueueTx(deliveries, options.resetFailed === true));
  }

  async claimDue(
    now: number,
    limit: number,
    owner: string,
    leaseMs: number,
  ): Promise<WebhookDelivery[]> {
    return (await this.lock.run(() => this.claimTx(now, limit, owner, leaseMs))).map(toDelivery);
  }

  async recordAttempt(
    owner: string,
    attempt: DeliveryAttempt,
    result: AttemptResult,
  ): Promise<boolean> {
    return this.lock.run(() => this.recordTx(owner, attempt, result));
  }

  async release(id: string, owner: string): Promise<void> {
    await this.lock.run(() => this.s.release!.run(id, owner));
  }

  async resend(id: string, now: number): Promise<boolean> {
    return (await this.lock.run(() => this.s.resend!.run(now, id))).changes === 1;
  }

  async getDelivery(id: string): Promise<WebhookDelivery | undefined> {
    const row = await this.lock.run(() => this.s.getDelivery!.get(id) as DeliveryRow | undefined);
    return row === undefined ? undefined : toDelivery(row);
  }

  async listDeliveries(filter: DeliveryFilter): Promise<WebhookDelivery[]> {
    const rows = await this.lock.run(
      () =>
        this.s.listDeliveries!.all({
          subscriptionId: filter.subscriptionId,
          status: filter.status ?? null,
          limit: filter.limit,
        }) as DeliveryRow[],
    );
    return rows.map(toDelivery);
  }

  async listAttempts(filter: {
    deliveryId?: string;
    subscriptionId?: string;
    limit: number;
  }): Promise<DeliveryAttempt[]> {
    const rows = await this.lock.run(
      () =>
        (filter.deliveryId !== undefined
          ? this.s.attemptsOfDelivery!.all(filter.deliveryId, filter.limit)
          : this.s.attemptsOfSubscription!.all(
              filter.subscriptionId,
              filter.limit,
            )) as AttemptRow[],
    );
    return rows.map(toAttempt);
  }

  async pendingCount(): Promise<number> {
    return (await this.lock.run(() => this.s.pending!.get())) as number;
  }

  async nextDue(): Promise<number | undefined> {
    return ((await this.lock.run(() => this.s.nextDue!.get())) as number | null) ?? undefined;
  }

  close(): void {
    if (this.owned) releaseConnection(this.db);
  }
}

/** A webhook store in a SQLite store's file (or a path: the process's shared connection). */
export function createSqliteWebhookStore(target: SqliteTarget): SqliteWebhookStore {
  return new SqliteWebhookStore(target);
}

export function attemptParams(a: DeliveryAttempt): Record<string, unknown> {
  return {
    deliveryId: a.deliveryId,
    subscriptionId: a.subscriptionId,
    eventId: a.eventId,
    attempt: a.attempt,
    at: a.at,
    outcome: a.outcome,
    status: a.status ?? null,
    latencyMs: Math.round(a.latencyMs),
    response: a.response,
    error: a.error ?? null,
  };
}
