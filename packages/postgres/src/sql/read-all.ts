import type { Pool } from 'pg';
import type { AllFilter } from '@eventfabric/core';
import { EVENT_COLUMNS, type EventRow } from './row.js';

/**
 * `$all` after a position, up to the safe position, filtered in SQL. Type prefixes use
 * `starts_with`, so `LIKE` wildcards in names are harmless and collation plays no part.
 */
export async function readAll(
  pool: Pool,
  s: string,
  after: bigint,
  upTo: bigint,
  limit: number,
  filter: AllFilter,
): Promise<EventRow[]> {
  const prefixes = filter.typePrefixes ?? [];
  const categories = filter.categories ?? [];
  const where = ['position > $1', 'position <= $2'];
  const values: unknown[] = [after.toString(), upTo.toString(), limit];
  if (prefixes.length > 0) {
    values.push(prefixes);
    where.push(
      `EXISTS (SELECT 1 FROM unnest($4::text[]) AS p(prefix) WHERE starts_with(type, p.prefix))`,
    );
  }
  if (categories.length > 0) {
    values.push(categories);
    where.push(`category = ANY($${values.length}::text[])`);
  }
  const result = await pool.query<EventRow>(
    `SELECT ${EVENT_COLUMNS} FROM ${s}.events WHERE ${where.join(' AND ')}
     ORDER BY position LIMIT $3`,
    values,
  );
  return result.rows;
}
