import type Database from 'better-sqlite3';
import type { AllFilter } from '@eventfabric/core';
import { EVENT_COLUMNS, type EventRow } from './row.js';

/**
 * `$all` after a position, filtered in SQL. A type prefix is a range scan on `type`
 * (`>= prefix AND < prefix + U+FFFF`), which keeps `LIKE` wildcards in names harmless.
 * Statements are cached per filter shape, so each shape is prepared once.
 */
export class ReadAllQuery {
  private readonly cache = new Map<string, Database.Statement<unknown[], EventRow>>();

  constructor(private readonly db: Database.Database) {}

  run(after: bigint, limit: number, filter: AllFilter): EventRow[] {
    const prefixes = filter.typePrefixes ?? [];
    const categories = filter.categories ?? [];
    const key = `${prefixes.length}:${categories.length}`;
    let statement = this.cache.get(key);
    if (!statement) {
      const where = ['position > ?'];
      if (prefixes.length > 0)
        where.push(`(${prefixes.map(() => '(type >= ? AND type < ?)').join(' OR ')})`);
      if (categories.length > 0)
        where.push(`category IN (${categories.map(() => '?').join(', ')})`);
      statement = this.db
        .prepare(
          `SELECT ${EVENT_COLUMNS} FROM events WHERE ${where.join(' AND ')} ORDER BY position LIMIT ?`,
        )
        .safeIntegers(true) as Database.Statement<unknown[], EventRow>;
      this.cache.set(key, statement);
    }
    const params: unknown[] = [after];
    for (const p of prefixes) params.push(p, `${p}\uffff`);
    params.push(...categories, limit);
    return statement.all(...params);
  }
}
