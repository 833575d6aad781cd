import type Database from 'better-sqlite3';
import {
  prepareSavePartitionProgress,
  type PartitionProgress,
} from '../sql/save-partition-progress.js';

/**
 * Writes a member's partition progress: checkpoints, read-ahead marks and delivery counts.
 * One call writes every partition given in the caller's transaction, so a batch of acks
 * across partitions costs one commit.
 */
export class GroupCheckpoints {
  private readonly saveOne;

  constructor(
    db: Database.Database,
    private readonly group: string,
    private readonly member: string,
  ) {
    this.saveOne = prepareSavePartitionProgress(db);
  }

  /** Write each partition's progress; returns the partitions the member no longer holds. */
  save(progress: readonly PartitionProgress[]): number[] {
    return progress
      .filter((p) => !this.saveOne(this.group, this.member, p))
      .map((p) => p.partition);
  }
}
