import type Database from 'better-sqlite3';
import { EVENT_COLUMNS, type EventRow } from './row.js';

type Params = { streamId: string; from: number; to: number; limit: number; maxPosition: bigint };

/** A stream's events between two versions (inclusive), up to a position, forwards. */
export function prepareReadStreamForwards(
  db: Database.Database,
): Database.Statement<[Params], EventRow> {
  return db
    .prepare<[Params], EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM events
       WHERE stream_id = @streamId AND stream_version BETWEEN @from AND @to AND position <= @maxPosition
       ORDER BY stream_version LIMIT @limit`,
    )
    .safeIntegers(true);
}

/** The same, backwards: `from` is the higher version. */
export function prepareReadStreamBackwards(
  db: Database.Database,
): Database.Statement<[Params], EventRow> {
  return db
    .prepare<[Params], EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM events
       WHERE stream_id = @streamId AND stream_version BETWEEN @to AND @from AND position <= @maxPosition
       ORDER BY stream_version DESC LIMIT @limit`,
    )
    .safeIntegers(true);
}
