/**
 * Projection state: the live version and each version's checkpoint (see
 * `postgres-projection-storage.ts`). Released: never edit. `s` is the quoted schema name.
 */
export function migration006(s: string): string {
  return `
    CREATE TABLE ${s}.projections (
      name          text        PRIMARY KEY,
      live_version  integer,
      updated_at    timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE ${s}.projection_versions (
      name          text        NOT NULL,
      version       integer     NOT NULL,
      tables        text[]      NOT NULL,
      position      text,
      last_error    jsonb,
      PRIMARY KEY (name, version)
    );
  `;
}
