import type Database from 'better-sqlite3';
import type { PartitionProgress } from './save-partition-progress.js';

/**
 * Write a partition's final progress and give it up, only while `member` holds it, so the
 * rest of the group can take it at once. Run inside a write transaction.
 */
export function prepareReleasePartition(
  db: Database.Database,
): (group: string, member: string, progress: PartitionProgress) => boolean {
  const update = db.prepare(
    `UPDATE consumer_partitions
     SET checkpoint = ?, delivered_until = ?, head_position = ?, head_deliveries = ?,
         head_not_before = ?, owner = NULL, lease_until = 0
     WHERE group_name = ? AND partition = ? AND owner = ?`,
  );
  return (group, member, p) =>
    update.run(
      p.checkpoint,
      p.deliveredUntil,
      p.headPosition,
      p.headDeliveries,
      p.headNotBefore,
      group,
      p.partition,
      member,
    ).changes === 1;
}
