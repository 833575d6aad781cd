/**
 * Events applied inline to a projection version, in their append's transaction; the daemon
 * skips them and removes the marks (see `postgres-projection-storage.ts`). Released: never
 * edit. `s` is the quoted schema name.
 */
export function migration011(s: string): string {
  return `
    CREATE TABLE ${s}.projection_inline (
      name      text    NOT NULL,
      version   integer NOT NULL,
      position  bigint  NOT NULL,
      PRIMARY KEY (name, version, position)
    );
  `;
}
