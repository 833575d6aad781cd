import type { Pool } from 'pg';
import { DEAD_LETTER_COLUMNS, deadLetterValues, type DeadLetter } from '@eventfabric/core';

/** Insert a stamped dead letter; durable once the statement returns (autocommit). */
export async function insertDeadLetter(pool: Pool, s: string, d: DeadLetter): Promise<void> {
  await pool.query(
    `INSERT INTO ${s}.dead_letters (${DEAD_LETTER_COLUMNS}, event_id, event_type)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
    deadLetterValues(d),
  );
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
