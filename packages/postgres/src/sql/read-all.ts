import type { Pool } from 'pg';
import type { AllFilter } from '@eventfabric/core';
import { EVENT_COLUMNS, type EventRow } from './row.js';

/**
 * `$all` after a position, up to the safe position, filtered in SQL. Type prefixes use
 * `starts_with`, so `LIKE` wildcards in names are harmless and collation plays no part.
 * The statement's text depends on how many prefixes there are, not on which.
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
    // One `starts_with` per prefix, OR-ed: a plain filter on the walk along `position`. An
    // `EXISTS (… unnest($4) …)` here made the planner scan and sort the whole table on the
    // early pages of a read from 0 (43 ms a page instead of 0.3 ms on 30 000 events).
    const tests = prefixes.map((prefix) => {
      values.push(prefix);
      return `starts_with(type, $${values.length}::text)`;
    });
    where.push(`(${tests.join(' OR ')})`);
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
