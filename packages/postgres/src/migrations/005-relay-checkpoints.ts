/**
 * Relay checkpoints with their leases (see `postgres-relay-checkpoints.ts`). Released: never
 * edit; add a new migration instead. `s` is the quoted schema name.
 */
export function migration005(s: string): string {
  return `
    CREATE TABLE ${s}.relay_checkpoints (
      name        text        PRIMARY KEY,
      position    text,
      owner       text,
      expires_at  timestamptz NOT NULL,
      updated_at  timestamptz NOT NULL DEFAULT now()
    );
  `;
}
