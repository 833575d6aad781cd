/**
 * Events applied inline to a projection version, in their append's transaction; the daemon
 * skips them and removes the marks (see `sqlite-projection-storage.ts`). Released: never edit.
 */
export const migration010 = {
  version: 10,
  name: 'inline-projections',
  sql: `
    CREATE TABLE projection_inline (
      name      TEXT    NOT NULL,
      version   INTEGER NOT NULL,
      position  INTEGER NOT NULL,
      PRIMARY KEY (name, version, position)
    ) WITHOUT ROWID;
  `,
};
