import type Database from 'better-sqlite3';

/** An `events` row as the transport scans it: enough to route it before parsing the body. */
export interface LogScanRow {
  position: bigint;
  type: string;
  /** The event's `partitionkey` (its stream when a foreign writer left it out). */
  partition_key: string;
  body: string;
}

/** `$all` after a position, in order, with each event's partition key extracted in SQL. */
export function prepareScanLog(
  db: Database.Database,
): Database.Statement<[bigint, number], LogScanRow> {
  return db
    .prepare<[bigint, number], LogScanRow>(
      `SELECT position, type,
              coalesce(json_extract(body, '$.partitionkey'), stream_id) AS partition_key, body
       FROM events WHERE position > ? ORDER BY position LIMIT ?`,
    )
    .safeIntegers(true);
}
