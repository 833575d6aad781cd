/** Dead letters, failure notes, processed events and idempotency keys. Released: never edit. */
export const migration003 = {
  version: 3,
  name: 'consumer-records',
  sql: `
    CREATE TABLE dead_letters (
      id               TEXT    PRIMARY KEY,
      handler          TEXT    NOT NULL,
      group_name       TEXT    NOT NULL,
      origin           TEXT    NOT NULL,
      reason           TEXT    NOT NULL,
      event_id         TEXT    NOT NULL,
      event_type       TEXT    NOT NULL,
      event            TEXT    NOT NULL,
      error            TEXT    NOT NULL,
      attempts         INTEGER NOT NULL,
      first_failed_at  TEXT    NOT NULL,
      last_failed_at   TEXT    NOT NULL,
      dead_lettered_at TEXT    NOT NULL
    );
    CREATE INDEX dead_letters_by_handler ON dead_letters (handler, id);

    CREATE TABLE handler_failures (
      handler          TEXT    NOT NULL,
      event_id         TEXT    NOT NULL,
      first_failed_at  TEXT    NOT NULL,
      failures         INTEGER NOT NULL,
      PRIMARY KEY (handler, event_id)
    );

    CREATE TABLE processed_events (
      handler          TEXT    NOT NULL,
      event_id         TEXT    NOT NULL,
      processed_at     INTEGER NOT NULL,
      PRIMARY KEY (handler, event_id)
    ) WITHOUT ROWID;

    CREATE TABLE idempotency_keys (
      key              TEXT    PRIMARY KEY,
      expires_at       INTEGER NOT NULL
    ) WITHOUT ROWID;
  `,
} as const;
