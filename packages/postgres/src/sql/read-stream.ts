import type { Pool } from 'pg';
import { EVENT_COLUMNS, type EventRow } from './row.js';

export interface StreamRange {
  streamId: string;
  /** Lower and upper versions, inclusive, whatever the direction. */
  low: number;
  high: number;
  direction: 'forwards' | 'backwards';
  limit: number;
  /** Only events at or before this position. */
  maxPosition?: bigint;
}

/** A stream's events between two versions, in version order or its reverse. */
export async function readStream(pool: Pool, s: string, range: StreamRange): Promise<EventRow[]> {
  const order = range.direction === 'forwards' ? 'ASC' : 'DESC';
  const result = await pool.query<EventRow>(
    `SELECT ${EVENT_COLUMNS} FROM ${s}.events
     WHERE stream_id = $1 AND stream_version BETWEEN $2 AND $3
       AND ($4::bigint IS NULL OR position <= $4::bigint)
     ORDER BY stream_version ${order} LIMIT $5`,
    [
      range.streamId,
      range.low,
      range.high,
      range.maxPosition === undefined ? null : range.maxPosition.toString(),
      range.limit,
    ],
  );
  return result.rows;
}
