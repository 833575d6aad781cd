import type Database from 'better-sqlite3';

/** Insert one event row; returns a statement whose `lastInsertRowid` is the position. */
export function prepareInsertEvent(db: Database.Database): Database.Statement {
  return db
    .prepare(
      `INSERT INTO events
         (event_id, stream_id, stream_version, type, category, correlation_id, recorded_at, body)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .safeIntegers(true);
}
