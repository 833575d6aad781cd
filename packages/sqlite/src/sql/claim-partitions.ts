import type Database from 'better-sqlite3';
import { PARTITION_COLUMNS, type PartitionRow } from './partition-row.js';

/**
 * Take up to `limit` partitions of a group that nobody holds or whose lease expired, leased
 * to `member` until `until`. Returns the rows taken. Run inside a write transaction.
 */
export function prepareClaimPartitions(
  db: Database.Database,
): (group: string, member: string, now: number, until: number, limit: number) => PartitionRow[] {
  const claimable = db
    .prepare<[string, number, number], PartitionRow>(
      `SELECT ${PARTITION_COLUMNS} FROM consumer_partitions
       WHERE group_name = ? AND (owner IS NULL OR lease_until < ?)
       ORDER BY partition LIMIT ?`,
    )
    .safeIntegers(true);
  const take = db.prepare(
    `UPDATE consumer_partitions SET owner = ?, lease_until = ?
     WHERE group_name = ? AND partition = ?`,
  );
  return (group, member, now, until, limit) => {
    if (limit <= 0) return [];
    const rows = claimable.all(group, now, limit);
    for (const row of rows) take.run(member, until, group, row.partition);
    return rows;
  };
}

/** How many partitions of a group a member could claim now (read-only probe). */
export function prepareCountClaimable(
  db: Database.Database,
): Database.Statement<[string, string, number], number> {
  return db
    .prepare<[string, string, number], number>(
      `SELECT count(*) FROM consumer_partitions
       WHERE group_name = ? AND owner IS NOT ? AND (owner IS NULL OR lease_until < ?)`,
    )
    .pluck();
}
