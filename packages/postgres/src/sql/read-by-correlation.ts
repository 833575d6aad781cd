import type { Pool } from 'pg';
import { EVENT_COLUMNS, type EventRow } from './row.js';

/** One flow's events after a position, up to the safe position, in position order. */
export async function readByCorrelation(
  pool: Pool,
  s: string,
  correlationId: string,
  after: bigint,
  upTo: bigint,
  limit: number,
): Promise<EventRow[]> {
  const result = await pool.query<EventRow>(
    `SELECT ${EVENT_COLUMNS} FROM ${s}.events
     WHERE correlation_id = $1 AND position > $2 AND position <= $3
     ORDER BY position LIMIT $4`,
    [correlationId, after.toString(), upTo.toString(), limit],
  );
  return result.rows;
}
