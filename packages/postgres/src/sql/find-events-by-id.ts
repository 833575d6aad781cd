import type { Pool } from 'pg';

/** What an idempotent retry compares: where an id is stored and what it holds. */
export interface ExistingEventRow {
  event_id: string;
  stream_id: string;
  stream_version: string;
  position: string;
  body: string;
}

/** Every stored event among `ids`, in one query, keyed by id. */
export async function findEventsById(
  pool: Pool,
  s: string,
  ids: readonly string[],
): Promise<Map<string, ExistingEventRow>> {
  const result = await pool.query<ExistingEventRow>(
    `SELECT event_id, stream_id, stream_version, position, body
     FROM ${s}.events WHERE event_id = ANY($1::text[])`,
    [ids],
  );
  return new Map(result.rows.map((row) => [row.event_id, row]));
}
