import type { Pool } from 'pg';
import type { DeadLetter, DeadLetterFilter } from '@eventfabric/core';

/** A `dead_letters` row; event and error are JSON text. */
export interface DeadLetterRow {
  id: string;
  handler: string;
  group_name: string;
  origin: string;
  reason: DeadLetter['reason'];
  event: string;
  error: string;
  attempts: number;
  first_failed_at: string;
  last_failed_at: string;
  dead_lettered_at: string;
}

/** The columns every dead-letter read selects. */
export const DEAD_LETTER_COLUMNS =
  'id, handler, group_name, origin, reason, event, error, attempts, first_failed_at, last_failed_at, dead_lettered_at';

/** Dead letters matching `filter`, oldest first (ids are UUIDv7). */
export async function listDeadLetters(
  pool: Pool,
  s: string,
  filter: DeadLetterFilter,
): Promise<DeadLetter[]> {
  const { where, params } = whereClause(filter);
  const result = await pool.query<DeadLetterRow>(
    `SELECT ${DEAD_LETTER_COLUMNS} FROM ${s}.dead_letters ${where}
     ORDER BY id LIMIT $${params.length + 1}`,
    [...params, filter.limit ?? 1000],
  );
  return result.rows.map(toDeadLetter);
}

/** The dead letter with this id, or undefined. */
export async function getDeadLetter(
  pool: Pool,
  s: string,
  id: string,
): Promise<DeadLetter | undefined> {
  const result = await pool.query<DeadLetterRow>(
    `SELECT ${DEAD_LETTER_COLUMNS} FROM ${s}.dead_letters WHERE id = $1`,
    [id],
  );
  const row = result.rows[0];
  return row && toDeadLetter(row);
}

/** How many dead letters match `filter`. */
export async function countDeadLetters(
  pool: Pool,
  s: string,
  filter: Omit<DeadLetterFilter, 'limit' | 'ids'>,
): Promise<number> {
  const { where, params } = whereClause(filter);
  const result = await pool.query<{ count: string }>(
    `SELECT count(*) AS count FROM ${s}.dead_letters ${where}`,
    params,
  );
  return Number(result.rows[0]!.count);
}

function whereClause(filter: DeadLetterFilter): { where: string; params: unknown[] } {
  const clauses: string[] = [];
  const params: unknown[] = [];
  const equal = { handler: filter.handler, event_type: filter.type, reason: filter.reason };
  for (const [column, value] of Object.entries(equal)) {
    if (value === undefined) continue;
    params.push(value);
    clauses.push(`${column} = $${params.length}`);
  }
  if (filter.ids !== undefined) {
    // One array parameter, however many ids.
    params.push([...filter.ids]);
    clauses.push(`id = ANY($${params.length}::text[])`);
  }
  return { where: clauses.length ? `WHERE ${clauses.join(' AND ')}` : '', params };
}

function toDeadLetter(row: DeadLetterRow): DeadLetter {
  return {
    id: row.id,
    handler: row.handler,
    group: row.group_name,
    origin: row.origin,
    reason: row.reason,
    event: JSON.parse(row.event) as DeadLetter['event'],
    error: JSON.parse(row.error) as DeadLetter['error'],
    attempts: row.attempts,
    firstFailedAt: row.first_failed_at,
    lastFailedAt: row.last_failed_at,
    deadLetteredAt: row.dead_lettered_at,
  };
}
