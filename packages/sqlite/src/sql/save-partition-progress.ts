import type Database from 'better-sqlite3';

/** What a member records for a partition it holds. Positions are `$all` positions. */
export interface PartitionProgress {
  partition: number;
  /** Every event of the partition at or before it is handled. */
  checkpoint: bigint;
  /** No event of the partition after it has been handed to a handler. */
  deliveredUntil: bigint;
  /** The event whose deliveries are counted, and how many there were. */
  headPosition: bigint;
  headDeliveries: number;
  /** A nack's delay: the head is not redelivered before this time (ms since epoch). */
  headNotBefore: number;
}

/**
 * Write a partition's progress, only while `member` holds it. Returns false when the member
 * no longer does. Run inside a write transaction.
 */
export function prepareSavePartitionProgress(
  db: Database.Database,
): (group: string, member: string, progress: PartitionProgress) => boolean {
  const update = db.prepare(
    `UPDATE consumer_partitions
     SET checkpoint = ?, delivered_until = ?, head_position = ?, head_deliveries = ?,
         head_not_before = ?
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
