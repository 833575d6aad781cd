import type { Pool } from 'pg';
import {
  DEAD_LETTER_COLUMNS,
  deadLetterFromRow,
  type DeadLetter,
  type DeadLetterFilter,
  type DeadLetterRow,
} from '@eventfabric/core';

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
  return result.rows.map(deadLetterFromRow);
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
  return row && deadLetterFromRow(row);
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
