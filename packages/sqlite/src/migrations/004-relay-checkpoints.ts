/** Relay checkpoints with their leases (see `sqlite-relay-checkpoints.ts`). Released: never edit. */
export const migration004 = {
  version: 4,
  name: 'relay-checkpoints',
  sql: `
    CREATE TABLE relay_checkpoints (
      name        TEXT    PRIMARY KEY,
      position    TEXT,
      owner       TEXT,
      expires_at  INTEGER NOT NULL,
      updated_at  INTEGER NOT NULL
    );
  `,
};
