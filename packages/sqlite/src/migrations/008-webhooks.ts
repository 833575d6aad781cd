/**
 * Webhook subscriptions, queued deliveries and their attempt log (`@eventfabric/webhooks`).
 * Released: never edit. Times are milliseconds since the epoch.
 */
export const migration008 = {
  version: 8,
  name: 'webhooks',
  sql: `
    CREATE TABLE webhook_subscriptions (
      id               TEXT    PRIMARY KEY,
      tenant           TEXT    NOT NULL,
      url              TEXT    NOT NULL,
      types            TEXT    NOT NULL,
      description      TEXT    NOT NULL DEFAULT '',
      secrets          TEXT    NOT NULL,
      ordered          INTEGER NOT NULL DEFAULT 0,
      enabled          INTEGER NOT NULL DEFAULT 1,
      disabled_reason  TEXT,
      disabled_at      INTEGER,
      failing_since    INTEGER,
      created_at       INTEGER NOT NULL,
      updated_at       INTEGER NOT NULL
    );
    CREATE INDEX webhook_subscriptions_by_tenant ON webhook_subscriptions (tenant, created_at);
    CREATE TABLE webhook_deliveries (
      seq              INTEGER PRIMARY KEY AUTOINCREMENT,
      id               TEXT    NOT NULL UNIQUE,
      subscription_id  TEXT    NOT NULL,
      tenant           TEXT    NOT NULL,
      event_id         TEXT    NOT NULL,
      event_type       TEXT    NOT NULL,
      payload          TEXT    NOT NULL,
      status           TEXT    NOT NULL DEFAULT 'pending',
      attempts         INTEGER NOT NULL DEFAULT 0,
      next_attempt_at  INTEGER NOT NULL,
      locked_by        TEXT,
      locked_until     INTEGER NOT NULL DEFAULT 0,
      created_at       INTEGER NOT NULL,
      last_attempt_at  INTEGER,
      last_status      INTEGER,
      last_error       TEXT,
      UNIQUE (subscription_id, event_id)
    );
    CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
    CREATE INDEX webhook_deliveries_by_subscription ON webhook_deliveries (subscription_id, status, seq);
    CREATE TABLE webhook_attempts (
      seq              INTEGER PRIMARY KEY AUTOINCREMENT,
      delivery_id      TEXT    NOT NULL,
      subscription_id  TEXT    NOT NULL,
      event_id         TEXT    NOT NULL,
      attempt          INTEGER NOT NULL,
      at               INTEGER NOT NULL,
      outcome          TEXT    NOT NULL,
      status           INTEGER,
      latency_ms       INTEGER NOT NULL,
      response         TEXT    NOT NULL DEFAULT '',
      error            TEXT
    );
    CREATE INDEX webhook_attempts_by_delivery ON webhook_attempts (delivery_id, seq);
    CREATE INDEX webhook_attempts_by_subscription ON webhook_attempts (subscription_id, seq);
  `,
};
