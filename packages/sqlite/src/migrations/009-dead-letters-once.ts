/**
 * One dead letter per (handler, event id): a redelivered event that fails for good again
 * keeps its first dead letter. Existing copies are folded into the first (lowest id: ids are
 * UUIDv7, so the first added). Released: never edit.
 */
export const migration009 = {
  version: 9,
  name: 'dead-letters-once',
  sql: `
    DELETE FROM dead_letters WHERE id NOT IN (
      SELECT min(id) FROM dead_letters GROUP BY handler, event_id
    );
    CREATE UNIQUE INDEX dead_letters_once ON dead_letters (handler, event_id);
  `,
} as const;
