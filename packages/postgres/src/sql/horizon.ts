import type { Pool } from 'pg';

/** A session whose open transaction holds back `$all` readers. */
export interface HorizonBlocker {
  pid: number;
  /** When its transaction began. */
  xactStart: Date | null;
  /** How long its transaction has been open, in ms. */
  ageMs: number;
  /** Its current or last statement. */
  query: string;
  /** The last position handed out before it inserted: readers stop there until it ends. */
  heldAt: string;
}

/** The result of {@link PostgresEventStore.horizon}. */
export interface HorizonResult {
  /** Sessions with an open transaction that inserted events, oldest hold first. */
  blockedBy: HorizonBlocker[];
}

/** Sessions holding this schema's in-flight writer locks, joined with pg_stat_activity. */
export async function horizon(pool: Pool, schema: string): Promise<HorizonResult> {
  const result = await pool.query<{
    pid: number;
    xact_start: Date | null;
    age_ms: string | null;
    query: string | null;
    held_at: string;
  }>(
    `SELECT l.pid, a.xact_start, a.query,
       (extract(epoch FROM clock_timestamp() - a.xact_start) * 1000)::bigint AS age_ms,
       min(((l.classid::bigint & 65535) << 32) | l.objid::bigint) AS held_at
     FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
     WHERE l.locktype = 'advisory' AND l.objsubid = 1
       AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
       AND (l.classid::bigint >> 16) = (hashtext($1) & 32767)::bigint
       AND l.pid IS DISTINCT FROM pg_backend_pid()
     GROUP BY l.pid, a.xact_start, a.query
     ORDER BY held_at, l.pid`,
    [schema],
  );
  return {
    blockedBy: result.rows.map((r) => ({
      pid: r.pid,
      xactStart: r.xact_start,
      ageMs: Number(r.age_ms ?? 0),
      query: r.query ?? '',
      heldAt: r.held_at,
    })),
  };
}
