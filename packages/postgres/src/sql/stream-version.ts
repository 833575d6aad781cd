import type { Pool } from 'pg';

/** The last version of a stream, or -1 when it has no events. */
export async function streamVersion(pool: Pool, s: string, streamId: string): Promise<number> {
  const result = await pool.query<{ version: string }>(
    `SELECT coalesce(max(stream_version), -1) AS version FROM ${s}.events WHERE stream_id = $1`,
    [streamId],
  );
  return Number(result.rows[0]!.version);
}
