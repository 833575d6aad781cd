/**
 * Saga instances and checkpoints (see `postgres-saga-storage.ts`). Released: never edit.
 * `s` is the quoted schema name.
 */
export function migration008(s: string): string {
  return `
    CREATE TABLE ${s}.saga_checkpoints (
      saga        text    PRIMARY KEY,
      position    bigint,
      last_error  jsonb
    );
    CREATE TABLE ${s}.saga_instances (
      saga        text        NOT NULL,
      instance    text        NOT NULL,
      status      text        NOT NULL CHECK (status IN ('running', 'completed', 'compensated')),
      step        integer     NOT NULL,
      run         integer     NOT NULL,
      state       jsonb       NOT NULL,
      history     jsonb       NOT NULL,
      failure     jsonb,
      started_at  timestamptz NOT NULL,
      updated_at  timestamptz NOT NULL,
      PRIMARY KEY (saga, instance)
    );
    CREATE INDEX saga_instances_by_update ON ${s}.saga_instances (updated_at);
    CREATE INDEX saga_instances_by_status ON ${s}.saga_instances (saga, status, updated_at);
  `;
}
