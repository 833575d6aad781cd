/** Events, snapshots and schemas. Released: never edit; add a new migration instead. */
export const migration001 = {
  version: 1,
  name: 'initial',
  sql: `
    CREATE TABLE events (
      position        INTEGER PRIMARY KEY AUTOINCREMENT,
      event_id        TEXT    NOT NULL UNIQUE,
      stream_id       TEXT    NOT NULL,
      stream_version  INTEGER NOT NULL,
      type            TEXT    NOT NULL,
      category        TEXT    NOT NULL,
      correlation_id  TEXT    NOT NULL,
      recorded_at     INTEGER NOT NULL,
      body            TEXT    NOT NULL,
      UNIQUE (stream_id, stream_version)
    );
    CREATE INDEX events_by_correlation ON events (correlation_id, position);

    CREATE TABLE snapshots (
      stream_id       TEXT    NOT NULL,
      name            TEXT    NOT NULL,
      stream_version  INTEGER NOT NULL,
      position        INTEGER NOT NULL,
      state           TEXT    NOT NULL,
      PRIMARY KEY (stream_id, name)
    );

    CREATE TABLE schemas (
      base            TEXT    NOT NULL,
      version         INTEGER NOT NULL,
      schema          TEXT    NOT NULL,
      compatibility   TEXT    NOT NULL,
      registered_at   TEXT    NOT NULL,
      seq             INTEGER NOT NULL,
      PRIMARY KEY (base, version)
    );
  `,
} as const;
