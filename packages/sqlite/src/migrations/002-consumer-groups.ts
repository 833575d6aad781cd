/**
 * Consumer groups of the embedded transport: one row per group, one per (group, partition)
 * holding its checkpoint, lease and delivery counter, one per live member. Released: never
 * edit; add a new migration instead.
 */
export const migration002 = {
  version: 2,
  name: 'consumer-groups',
  sql: `
    CREATE TABLE consumer_groups (
      group_name      TEXT    PRIMARY KEY,
      partitions      INTEGER NOT NULL,
      created_at      TEXT    NOT NULL
    );

    CREATE TABLE consumer_partitions (
      group_name      TEXT    NOT NULL,
      partition       INTEGER NOT NULL,
      checkpoint      INTEGER NOT NULL,
      delivered_until INTEGER NOT NULL,
      head_position   INTEGER NOT NULL DEFAULT 0,
      head_deliveries INTEGER NOT NULL DEFAULT 0,
      head_not_before INTEGER NOT NULL DEFAULT 0,
      owner           TEXT,
      lease_until     INTEGER NOT NULL DEFAULT 0,
      PRIMARY KEY (group_name, partition)
    ) WITHOUT ROWID;

    CREATE TABLE consumer_members (
      group_name      TEXT    NOT NULL,
      member_id       TEXT    NOT NULL,
      heartbeat_until INTEGER NOT NULL,
      PRIMARY KEY (group_name, member_id)
    ) WITHOUT ROWID;
  `,
} as const;
