/** Saga instances and checkpoints (see `sqlite-saga-storage.ts`). Released: never edit. */
export const migration007 = {
  version: 7,
  name: 'sagas',
  sql: `
    CREATE TABLE saga_checkpoints (
      saga        TEXT    PRIMARY KEY,
      position    INTEGER,
      last_error  TEXT
    );
    CREATE TABLE saga_instances (
      saga        TEXT    NOT NULL,
      instance    TEXT    NOT NULL,
      status      TEXT    NOT NULL CHECK (status IN ('running', 'completed', 'compensated')),
      step        INTEGER NOT NULL,
      run         INTEGER NOT NULL,
      state       TEXT    NOT NULL,
      history     TEXT    NOT NULL,
      failure     TEXT,
      started_at  TEXT    NOT NULL,
      updated_at  TEXT    NOT NULL,
      PRIMARY KEY (saga, instance)
    );
    CREATE INDEX saga_instances_by_update ON saga_instances (updated_at);
    CREATE INDEX saga_instances_by_status ON saga_instances (saga, status, updated_at);
  `,
};
