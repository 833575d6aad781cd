import type Database from 'better-sqlite3';

/** What an idempotent retry compares: where an id is stored and what it holds. */
export interface ExistingEventRow {
  stream_id: string;
  stream_version: bigint;
  position: bigint;
  body: string;
}

export function prepareFindEventById(
  db: Database.Database,
): Database.Statement<[string], ExistingEventRow> {
  return db
    .prepare<[string], ExistingEventRow>(
      'SELECT stream_id, stream_version, position, body FROM events WHERE event_id = ?',
    )
    .safeIntegers(true);
}
