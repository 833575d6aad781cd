/** Scheduled events (see `sqlite-scheduled-messages.ts`). Released: never edit. */
export const migration006 = {
  version: 6,
  name: 'scheduled-messages',
  sql: `
    CREATE TABLE scheduled_messages (
      id            TEXT    PRIMARY KEY,
      due_at        INTEGER NOT NULL,
      event         TEXT    NOT NULL,
      attempts      INTEGER NOT NULL DEFAULT 0,
      locked_by     TEXT,
      locked_until  INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX scheduled_messages_by_due ON scheduled_messages (due_at);
  `,
};
