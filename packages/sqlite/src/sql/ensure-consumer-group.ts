import type Database from 'better-sqlite3';

/**
 * Create a consumer group with `partitions` partitions, each checkpointed at `start`, unless
 * it exists. Returns the group's partition count, which is fixed when the group is created.
 * Run inside a write transaction.
 */
export function prepareEnsureConsumerGroup(
  db: Database.Database,
): (group: string, partitions: number, start: bigint) => number {
  const insertGroup = db.prepare(
    `INSERT INTO consumer_groups (group_name, partitions, created_at) VALUES (?, ?, ?)
     ON CONFLICT (group_name) DO NOTHING`,
  );
  const insertPartition = db.prepare(
    `INSERT INTO consumer_partitions (group_name, partition, checkpoint, delivered_until)
     VALUES (?, ?, ?, ?) ON CONFLICT (group_name, partition) DO NOTHING`,
  );
  const count = db
    .prepare<[string], number>('SELECT partitions FROM consumer_groups WHERE group_name = ?')
    .pluck();
  return (group, partitions, start) => {
    if (insertGroup.run(group, partitions, new Date().toISOString()).changes === 1) {
      for (let p = 0; p < partitions; p++) insertPartition.run(group, p, start, start);
    }
    return count.get(group)!;
  };
}
