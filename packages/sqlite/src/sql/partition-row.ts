/** A `consumer_partitions` row as a member loads it when it takes the partition. */
export interface PartitionRow {
  partition: bigint;
  checkpoint: bigint;
  delivered_until: bigint;
  head_position: bigint;
  head_deliveries: bigint;
  head_not_before: bigint;
}

/** The columns a claim reads. */
export const PARTITION_COLUMNS =
  'partition, checkpoint, delivered_until, head_position, head_deliveries, head_not_before';
