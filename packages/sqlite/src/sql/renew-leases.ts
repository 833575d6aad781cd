import type Database from 'better-sqlite3';
import { PARTITION_COLUMNS, type PartitionRow } from './partition-row.js';

/**
 * Extend every lease a member holds in a group until `until`, and return the partitions it
 * still holds: one it lost (its lease expired and another member took it) is missing, and
 * one its previous incarnation held (a restart with a stable consumer id) is there.
 * Run inside a write transaction.
 */
export function prepareRenewLeases(
  db: Database.Database,
): (group: string, member: string, until: number) => PartitionRow[] {
  const renew = db.prepare(
    'UPDATE consumer_partitions SET lease_until = ? WHERE group_name = ? AND owner = ?',
  );
  const held = db
    .prepare<[string, string], PartitionRow>(
      `SELECT ${PARTITION_COLUMNS} FROM consumer_partitions
       WHERE group_name = ? AND owner = ? ORDER BY partition`,
    )
    .safeIntegers(true);
  return (group, member, until) => {
    renew.run(until, group, member);
    return held.all(group, member);
  };
}
