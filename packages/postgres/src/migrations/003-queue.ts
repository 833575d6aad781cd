/**
 * The PostgreSQL queue transport (see `postgres-queue-transport.ts`). Released: never
 * edit; add a new migration instead. `s` is the quoted schema name.
 *
 * - `queue_groups`: one row per consumer group, with the topic patterns it registered at
 *   subscribe. `seq` changes whenever a group appears or changes its topics, so a publisher
 *   can tell, in its insert statement, that its cached routing table is stale.
 * - `queue_messages`: one row per event per group that matched it. A member claims a row
 *   by setting `locked_by`/`locked_until` (its lease) and counting `deliveries`; an ack
 *   deletes it; a nack clears the lease and sets `not_before`.
 */
export function migration003(s: string): string {
  return `
    CREATE SEQUENCE ${s}.queue_groups_seq;

    CREATE TABLE ${s}.queue_groups (
      group_name  text        PRIMARY KEY,
      topics      text[]      NOT NULL,
      seq         bigint      NOT NULL,
      updated_at  timestamptz NOT NULL DEFAULT now()
    );

    CREATE TABLE ${s}.queue_messages (
      id             bigserial   PRIMARY KEY,
      group_name     text        NOT NULL,
      event_id       text        NOT NULL,
      event_type     text        NOT NULL,
      partition_key  text        NOT NULL,
      body           text        NOT NULL,
      deliveries     integer     NOT NULL DEFAULT 0,
      enqueued_at    timestamptz NOT NULL DEFAULT now(),
      not_before     timestamptz NOT NULL DEFAULT now(),
      locked_by      text,
      locked_until   timestamptz
    );
    -- The head of each key (lowest id) and the scan of a group in id order.
    CREATE INDEX queue_messages_by_key ON ${s}.queue_messages (group_name, partition_key, id);
    CREATE INDEX queue_messages_by_group ON ${s}.queue_messages (group_name, id);
    -- Leased rows are few: finding a key's leased message stays cheap however long the key.
    CREATE INDEX queue_messages_leased ON ${s}.queue_messages (group_name, partition_key)
      WHERE locked_until IS NOT NULL;
  `;
}
