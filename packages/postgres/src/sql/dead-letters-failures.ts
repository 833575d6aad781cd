import type { Pool } from 'pg';
import type { FailureNote } from '@eventfabric/core';

/** Count one more failure of (handler, event id), keeping the time of the first. */
export async function noteHandlerFailure(
  pool: Pool,
  s: string,
  handler: string,
  eventId: string,
  at: string,
): Promise<FailureNote> {
  const result = await pool.query<FailureNote>(
    `INSERT INTO ${s}.handler_failures AS f (handler, event_id, first_failed_at, failures)
     VALUES ($1, $2, $3, 1)
     ON CONFLICT (handler, event_id) DO UPDATE SET failures = f.failures + 1
     RETURNING first_failed_at AS "firstFailedAt", failures`,
    [handler, eventId, at],
  );
  return result.rows[0]!;
}

/** Forget the failures of (handler, event id). */
export async function clearHandlerFailures(
  pool: Pool,
  s: string,
  handler: string,
  eventId: string,
): Promise<void> {
  await pool.query(`DELETE FROM ${s}.handler_failures WHERE handler = $1 AND event_id = $2`, [
    handler,
    eventId,
  ]);
}
