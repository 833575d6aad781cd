import type { Pool } from 'pg';

/** True when `key` is stored and not expired, by the server's clock. */
export async function idempotencyKeyExists(pool: Pool, s: string, key: string): Promise<boolean> {
  const result = await pool.query(
    `SELECT 1 FROM ${s}.idempotency_keys WHERE key = $1 AND expires_at > clock_timestamp()`,
    [key],
  );
  return result.rowCount === 1;
}

/** Store `key` until `ttlMs` from now, by the server's clock; storing it again extends it. */
export async function putIdempotencyKey(
  pool: Pool,
  s: string,
  key: string,
  ttlMs: number,
): Promise<void> {
  await pool.query(
    `INSERT INTO ${s}.idempotency_keys (key, expires_at)
     VALUES ($1, clock_timestamp() + $2::double precision * interval '1 millisecond')
     ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at`,
    [key, ttlMs],
  );
}

/** Delete expired keys. */
export async function purgeIdempotencyKeys(pool: Pool, s: string): Promise<void> {
  await pool.query(`DELETE FROM ${s}.idempotency_keys WHERE expires_at <= clock_timestamp()`);
}
