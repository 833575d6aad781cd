import type { DeadLetter } from './dead-letter-store.js';

/**
 * A dead letter as SQL stores keep it: one column per field, the event and the error as
 * JSON text, plus the event's id and type for filtering. SQLite and PostgreSQL share it.
 */
export interface DeadLetterRow {
  id: string;
  handler: string;
  group_name: string;
  origin: string;
  reason: DeadLetter['reason'];
  event: string;
  error: string;
  attempts: number;
  first_failed_at: string;
  last_failed_at: string;
  dead_lettered_at: string;
}

/** The columns, in the order {@link deadLetterValues} gives their values. */
export const DEAD_LETTER_COLUMNS =
  'id, handler, group_name, origin, reason, event, error, attempts, first_failed_at, last_failed_at, dead_lettered_at';

/** Values for `(${DEAD_LETTER_COLUMNS}, event_id, event_type)`, in that order. */
export function deadLetterValues(d: DeadLetter): unknown[] {
  return [
    d.id,
    d.handler,
    d.group,
    d.origin,
    d.reason,
    JSON.stringify(d.event),
    JSON.stringify(d.error),
    d.attempts,
    d.firstFailedAt,
    d.lastFailedAt,
    d.deadLetteredAt,
    d.event.id,
    d.event.type,
  ];
}

/** Rebuild a dead letter from its row. */
export function deadLetterFromRow(row: DeadLetterRow): DeadLetter {
  return {
    id: row.id,
    handler: row.handler,
    group: row.group_name,
    origin: row.origin,
    reason: row.reason,
    event: JSON.parse(row.event) as DeadLetter['event'],
    error: JSON.parse(row.error) as DeadLetter['error'],
    attempts: row.attempts,
    firstFailedAt: row.first_failed_at,
    lastFailedAt: row.last_failed_at,
    deadLetteredAt: row.dead_lettered_at,
  };
}
