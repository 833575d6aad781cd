import type Database from 'better-sqlite3';

/** The last position in `$all`, or null on an empty store. */
export function prepareHeadPosition(db: Database.Database): Database.Statement<[], bigint | null> {
  return db
    .prepare<[], bigint | null>('SELECT max(position) FROM events')
    .pluck()
    .safeIntegers(true);
}

/** The last position recorded at or before a time (ms since epoch). No index: temporal reads are rare. */
export function preparePositionAt(
  db: Database.Database,
): Database.Statement<[number], bigint | null> {
  return db
    .prepare<[number], bigint | null>('SELECT max(position) FROM events WHERE recorded_at <= ?')
    .pluck()
    .safeIntegers(true);
}
