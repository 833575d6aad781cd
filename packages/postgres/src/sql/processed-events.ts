/** The pool, or a transaction (`PostgresTransaction`). */
export interface Queryable {
  query(text: string, params: unknown[]): Promise<{ rowCount: number | null }>;
}

/** True when (handler, event id) is recorded. */
export async function processedExists(
  db: Queryable,
  s: string,
  handler: string,
  eventId: string,
): Promise<boolean> {
  const result = await db.query(
    `SELECT 1 FROM ${s}.processed_events WHERE handler = $1 AND event_id = $2`,
    [handler, eventId],
  );
  return result.rowCount === 1;
}

/**
 * Record (handler, event id); false when it was already recorded. Inside a transaction the
 * new row's lock makes a concurrent recorder of the same pair wait for this one to end.
 */
export async function recordProcessed(
  db: Queryable,
  s: string,
  handler: string,
  eventId: string,
): Promise<boolean> {
  const result = await db.query(
    `INSERT INTO ${s}.processed_events (handler, event_id) VALUES ($1, $2)
     ON CONFLICT DO NOTHING RETURNING 1`,
    [handler, eventId],
  );
  return result.rowCount === 1;
}
