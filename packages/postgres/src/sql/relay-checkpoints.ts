import type { Pool } from 'pg';

/**
 * Take the lease on relay `name` for `owner` when it is free, expired or already `owner`'s,
 * creating the relay on first use. Returns the checkpoint row when taken, none otherwise.
 * The lease's clock is the server's (`now()`), so processes' clocks need not agree.
 */
export async function acquireRelay(
  pool: Pick<Pool, 'query'>,
  s: string,
  name: string,
  owner: string,
  leaseMs: number,
): Promise<{ position: string | null } | undefined> {
  const result = await pool.query<{ position: string | null }>(
    `INSERT INTO ${s}.relay_checkpoints AS r (name, position, owner, expires_at)
     VALUES ($1, NULL, $2, now() + $3 * interval '1 millisecond')
     ON CONFLICT (name) DO UPDATE
       SET owner = excluded.owner, expires_at = excluded.expires_at, updated_at = now()
       WHERE r.owner = excluded.owner OR r.owner IS NULL OR r.expires_at < now()
     RETURNING position`,
    [name, owner, leaseMs],
  );
  return result.rows[0];
}

/** Renew `owner`'s lease, and move the checkpoint when `position` is given; false when not `owner`'s. */
export async function advanceRelay(
  pool: Pick<Pool, 'query'>,
  s: string,
  name: string,
  owner: string,
  position: string | undefined,
  leaseMs: number,
): Promise<boolean> {
  const result = await pool.query(
    `UPDATE ${s}.relay_checkpoints
     SET position = coalesce($3, position),
         expires_at = now() + $4 * interval '1 millisecond', updated_at = now()
     WHERE name = $1 AND owner = $2`,
    [name, owner, position ?? null, leaseMs],
  );
  return result.rowCount === 1;
}

/** Clear `owner`'s lease on `name`, keeping the checkpoint. */
export async function releaseRelay(
  pool: Pick<Pool, 'query'>,
  s: string,
  name: string,
  owner: string,
): Promise<void> {
  await pool.query(
    `UPDATE ${s}.relay_checkpoints SET owner = NULL, updated_at = now()
     WHERE name = $1 AND owner = $2`,
    [name, owner],
  );
}
