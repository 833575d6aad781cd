/**
 * One dead letter per (handler, event id): a redelivered event that fails for good again
 * keeps its first dead letter. Existing copies are folded into the first (lowest id: ids are
 * UUIDv7, so the first added). Released: never edit. `s` is the quoted schema name.
 */
export function migration010(s: string): string {
  return `
    DELETE FROM ${s}.dead_letters d USING ${s}.dead_letters first
     WHERE first.handler = d.handler AND first.event_id = d.event_id AND first.id < d.id;
    CREATE UNIQUE INDEX dead_letters_once ON ${s}.dead_letters (handler, event_id);
  `;
}
