import type Database from 'better-sqlite3';
import { EVENT_COLUMNS, type EventRow } from './row.js';

export function prepareReadByCorrelation(
  db: Database.Database,
): Database.Statement<[string, bigint, number], EventRow> {
  return db
    .prepare<[string, bigint, number], EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM events WHERE correlation_id = ? AND position > ?
       ORDER BY position LIMIT ?`,
    )
    .safeIntegers(true);
}
