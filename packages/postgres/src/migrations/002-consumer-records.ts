/**
 * The consumer's records: dead letters, failure notes, processed events (the idempotency
 * record of handlers) and idempotency keys. Released: never edit; add a new migration
 * instead. `s` is the quoted schema name.
 *
 * Dead-letter ids and times are text: ids may be anything a caller passes to `get` or
 * `remove` (a uuid column would reject a malformed one with an error instead of "not
 * found"), and times round-trip exactly as the consumer wrote them.
 */
export function migration002(s: string): string {
  return `
    CREATE TABLE ${s}.dead_letters (
      id               text    PRIMARY KEY,
      handler          text    NOT NULL,
      group_name       text    NOT NULL,
      origin           text    NOT NULL,
      reason           text    NOT NULL,
      event_id         text    NOT NULL,
      event_type       text    NOT NULL,
      event            text    NOT NULL,
      error            text    NOT NULL,
      attempts         integer NOT NULL,
      first_failed_at  text    NOT NULL,
      last_failed_at   text    NOT NULL,
      dead_lettered_at text    NOT NULL
    );
    CREATE INDEX dead_letters_by_handler ON ${s}.dead_letters (handler, id);

    CREATE TABLE ${s}.handler_failures (
      handler          text    NOT NULL,
      event_id         text    NOT NULL,
      first_failed_at  text    NOT NULL,
      failures         integer NOT NULL,
      PRIMARY KEY (handler, event_id)
    );

    CREATE TABLE ${s}.processed_events (
      handler          text        NOT NULL,
      event_id         text        NOT NULL,
      processed_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
      PRIMARY KEY (handler, event_id)
    );

    CREATE TABLE ${s}.idempotency_keys (
      key              text        PRIMARY KEY,
      expires_at       timestamptz NOT NULL
    );
    CREATE INDEX idempotency_keys_by_expiry ON ${s}.idempotency_keys (expires_at);
  `;
}
