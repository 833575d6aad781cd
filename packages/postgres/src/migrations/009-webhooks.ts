/**
 * Webhook subscriptions, queued deliveries and their attempt log (`@eventfabric/webhooks`).
 * Released: never edit. `s` is the quoted schema name. Times are milliseconds since the epoch.
 */
export function migration009(s: string): string {
  return `
    CREATE TABLE ${s}.webhook_subscriptions (
      id               text     PRIMARY KEY,
      tenant           text     NOT NULL,
      url              text     NOT NULL,
      types            text     NOT NULL,
      description      text     NOT NULL DEFAULT '',
      secrets          text     NOT NULL,
      ordered          smallint NOT NULL DEFAULT 0,
      enabled          smallint NOT NULL DEFAULT 1,
      disabled_reason  text,
      disabled_at      bigint,
      failing_since    bigint,
      created_at       bigint   NOT NULL,
      updated_at       bigint   NOT NULL
    );
    CREATE INDEX webhook_subscriptions_by_tenant ON ${s}.webhook_subscriptions (tenant, created_at);
    CREATE TABLE ${s}.webhook_deliveries (
      seq              bigserial PRIMARY KEY,
      id               text     NOT NULL UNIQUE,
      subscription_id  text     NOT NULL,
      tenant           text     NOT NULL,
      event_id         text     NOT NULL,
      event_type       text     NOT NULL,
      payload          text     NOT NULL,
      status           text     NOT NULL DEFAULT 'pending',
      attempts         integer  NOT NULL DEFAULT 0,
      next_attempt_at  bigint   NOT NULL,
      locked_by        text,
      locked_until     bigint   NOT NULL DEFAULT 0,
      created_at       bigint   NOT NULL,
      last_attempt_at  bigint,
      last_status      integer,
      last_error       text,
      UNIQUE (subscription_id, event_id)
    );
    CREATE INDEX webhook_deliveries_due ON ${s}.webhook_deliveries (status, next_attempt_at);
    CREATE INDEX webhook_deliveries_by_subscription
      ON ${s}.webhook_deliveries (subscription_id, status, seq);
    CREATE TABLE ${s}.webhook_attempts (
      seq              bigserial PRIMARY KEY,
      delivery_id      text     NOT NULL,
      subscription_id  text     NOT NULL,
      event_id         text     NOT NULL,
      attempt          integer  NOT NULL,
      at               bigint   NOT NULL,
      outcome          text     NOT NULL,
      status           integer,
      latency_ms       integer  NOT NULL,
      response         text     NOT NULL DEFAULT '',
      error            text
    );
    CREATE INDEX webhook_attempts_by_delivery ON ${s}.webhook_attempts (delivery_id, seq);
    CREATE INDEX webhook_attempts_by_subscription ON ${s}.webhook_attempts (subscription_id, seq);
  `;
}
