import type Database from 'better-sqlite3';

/** The last version of a stream, or null when it has no events. */
export function prepareStreamVersion(
  db: Database.Database,
): Database.Statement<[string], number | null> {
  return db
    .prepare<[string], number | null>('SELECT max(stream_version) FROM events WHERE stream_id = ?')
    .pluck();
}
