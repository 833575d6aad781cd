/**
 * Scheduled events (see `postgres-scheduled-messages.ts`). Released: never edit. `s` is the
 * quoted schema name. Times are milliseconds since the epoch.
 */
export function migration007(s: string): string {
  return `
    CREATE TABLE ${s}.scheduled_messages (
      id            text    PRIMARY KEY,
      due_at        bigint  NOT NULL,
      event         text    NOT NULL,
      attempts      integer NOT NULL DEFAULT 0,
      locked_by     text,
      locked_until  bigint  NOT NULL DEFAULT 0
    );
    CREATE INDEX scheduled_messages_by_due ON ${s}.scheduled_messages (due_at);
  `;
}
