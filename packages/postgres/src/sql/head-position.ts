import type { Pool } from 'pg';

/** The last committed position at or below `upTo`, or 0n on an empty store. */
export async function headPosition(pool: Pool, s: string, upTo: bigint): Promise<bigint> {
  const result = await pool.query<{ head: string | null }>(
    `SELECT max(position) AS head FROM ${s}.events WHERE position <= $1`,
    [upTo.toString()],
  );
  return BigInt(result.rows[0]!.head ?? '0');
}

/** The last position recorded at or before a time; 0n when none. No index: temporal reads are rare. */
export async function positionAt(pool: Pool, s: string, time: Date): Promise<bigint> {
  const result = await pool.query<{ position: string | null }>(
    `SELECT max(position) AS position FROM ${s}.events WHERE recorded_at <= $1`,
    [time],
  );
  return BigInt(result.rows[0]!.position ?? '0');
}
