import type { Pool } from 'pg';

/**
 * The highest position below which every transaction that inserted events has ended: the
 * last position handed out, or, when a transaction inserting events is still running, the
 * last position handed out before it began inserting. Must run in its own statement, before
 * the read it bounds, so the read's snapshot includes every commit it relied on.
 */
export async function safePosition(pool: Pool, s: string): Promise<bigint> {
  const result = await pool.query<{ safe: string }>(
    `SELECT ${s}.eventfabric_safe_position() AS safe`,
  );
  return BigInt(result.rows[0]!.safe);
}
