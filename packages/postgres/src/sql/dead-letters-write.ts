import type { Pool } from 'pg';
import {
  DEAD_LETTER_COLUMNS,
  deadLetterFromRow,
  deadLetterValues,
  type DeadLetter,
  type DeadLetterRow,
} from '@eventfabric/core';

/**
 * Insert a stamped dead letter, unless (handler, event id) has one (migration 010); durable
 * once the statement returns (autocommit).
 * @returns the dead letter kept: `d`, or the one stored first
 */
export async function insertDeadLetter(pool: Pool, s: string, d: DeadLetter): Promise<DeadLetter> {
  const inserted = await pool.query(
    `INSERT INTO ${s}.dead_letters (${DEAD_LETTER_COLUMNS}, event_id, event_type)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
     ON CONFLICT (handler, event_id) DO NOTHING`,
    deadLetterValues(d),
  );
  if (inserted.rowCount === 1) return d;
  // A statement of its own: its snapshot sees the conflicting row, committed by now.
  const kept = await pool.query<DeadLetterRow>(
    `SELECT ${DEAD_LETTER_COLUMNS} FROM ${s}.dead_letters WHERE handler = $1 AND event_id = $2`,
    [d.handler, d.event.id],
  );
  const row = kept.rows[0];
  return row === undefined ? d : deadLetterFromRow(row);
}

/** Delete dead letters by id; unknown ids are ignored. @returns how many were deleted */
export async function deleteDeadLetters(
  pool: Pool,
  s: string,
  ids: readonly string[],
): Promise<number> {
  const result = await pool.query(`DELETE FROM ${s}.dead_letters WHERE id = ANY($1::text[])`, [
    [...ids],
  ]);
  return result.rowCount ?? 0;
}
