/** Projection state: the live version and each version's checkpoint. Released: never edit. */
export const migration005 = {
  version: 5,
  name: 'projections',
  sql: `
    CREATE TABLE projections (
      name          TEXT    PRIMARY KEY,
      live_version  INTEGER,
      updated_at    INTEGER NOT NULL
    );
    CREATE TABLE projection_versions (
      name          TEXT    NOT NULL,
      version       INTEGER NOT NULL,
      tables        TEXT    NOT NULL,
      position      TEXT,
      last_error    TEXT,
      PRIMARY KEY (name, version)
    );
  `,
};
