import type { CloudEvent } from '@eventfabric/core';
import type { PartitionRow } from '../sql/partition-row.js';
import type { PartitionProgress } from '../sql/save-partition-progress.js';

/** An event read ahead into a partition's buffer. */
export interface QueuedEvent {
  position: bigint;
  event: CloudEvent;
}

/**
 * One partition a member holds: the events read ahead, in log order, and the bookkeeping that
 * makes checkpoints and delivery counts survive a crash.
 *
 * The durable row says: every event at or before `checkpoint` is handled; no event after
 * `delivered_until` was ever handed to a handler; the event at `head_position` was handed out
 * `head_deliveries` times. A member that takes a partition whose `delivered_until` is past its
 * checkpoint knows the previous holder died (a clean release lowers it to the checkpoint), so
 * it counts one lost delivery for each event in that window ("suspect" events) and delivers
 * them carefully: the head's count is written before each delivery and the checkpoint after
 * each ack, so a crash on any of them leaves the exact event and count behind. Elsewhere
 * checkpoints are written in batches.
 */
export class PartitionState {
  readonly partition: number;
  readonly queue: QueuedEvent[] = [];
  /** Every row of the log at or before it was considered for this partition. */
  readPos: bigint;
  /** What the database holds for this partition, as last written or read. */
  saved: PartitionProgress;
  /** Events up to here may have been delivered by a holder that died. */
  readonly suspectUntil: bigint;
  /** The read-ahead mark to write next; nothing after the saved one is handed out. */
  deliveredUntil: bigint;
  /** Deliveries of the event at `head.position`, the planned next one included when `planned`. */
  head: { position: bigint; deliveries: number };
  /** `head` already counts the next delivery of the queue's first event. */
  planned = false;
  /** The delivery out to a handler (always of the queue's first event), if any. */
  out: symbol | undefined;
  /** A careful ack is being written: the next event waits until its caller has resumed. */
  holding = false;
  /** A nack's delay: the first event waits until then, and every later one behind it. */
  notBefore = 0;
  /** The last scan reached the end of the log for this partition. */
  caughtUp = false;
  /** Leaving this member: nothing more is delivered, and it is released once idle. */
  releasing = false;
  /** After a careful ack: the checkpoint that must be durable before the next delivery. */
  mustSaveUpTo = 0n;

  constructor(row: PartitionRow) {
    this.partition = Number(row.partition);
    this.readPos = row.checkpoint;
    this.suspectUntil = row.delivered_until;
    this.deliveredUntil = row.delivered_until;
    this.head = { position: row.head_position, deliveries: Number(row.head_deliveries) };
    // A nack's delay outlives its member while its event is still the first unhandled one.
    if (row.head_position > row.checkpoint) this.notBefore = Number(row.head_not_before);
    this.saved = {
      partition: this.partition,
      checkpoint: row.checkpoint,
      deliveredUntil: row.delivered_until,
      headPosition: row.head_position,
      headDeliveries: Number(row.head_deliveries),
      headNotBefore: Number(row.head_not_before),
    };
  }

  /** Every event of the partition at or before it is handled. */
  checkpoint(): bigint {
    const first = this.queue[0];
    return first ? first.position - 1n : this.readPos;
  }

  /** Count the coming delivery of the first event, and widen the read-ahead mark over the buffer. */
  plan(): void {
    const first = this.queue[0];
    if (this.planned || !first) return;
    const before =
      this.head.position === first.position
        ? this.head.deliveries
        : first.position <= this.suspectUntil
          ? 1
          : 0;
    this.head = { position: first.position, deliveries: before + 1 };
    this.planned = true;
    if (first.position > this.saved.deliveredUntil) {
      const last = this.queue[this.queue.length - 1]!.position;
      if (last > this.deliveredUntil) this.deliveredUntil = last;
    }
  }

  /** The planned delivery is a redelivery: it runs carefully. */
  get careful(): boolean {
    return this.head.deliveries > 1;
  }

  /** What must be durable before the planned delivery is made, is. */
  ready(): boolean {
    const first = this.queue[0]!;
    if (first.position > this.saved.deliveredUntil) return false;
    if (this.saved.checkpoint < this.mustSaveUpTo) return false;
    if (!this.careful) return true;
    return (
      this.saved.headPosition === first.position &&
      this.saved.headDeliveries >= this.head.deliveries
    );
  }

  /** What to write while holding the partition. */
  progress(): PartitionProgress {
    return {
      partition: this.partition,
      checkpoint: this.checkpoint(),
      deliveredUntil: this.deliveredUntil,
      headPosition: this.head.position,
      headDeliveries: this.head.deliveries,
      headNotBefore: this.notBefore,
    };
  }

  /**
   * What to write when giving the partition up. This member delivered nothing after the
   * checkpoint except the head, whose count includes a delivery abandoned in flight but not
   * one only planned; a dead holder's window is passed on as it was found.
   */
  releaseProgress(): PartitionProgress {
    const checkpoint = this.checkpoint();
    return {
      partition: this.partition,
      checkpoint,
      deliveredUntil: checkpoint > this.suspectUntil ? checkpoint : this.suspectUntil,
      headPosition: this.head.position,
      headDeliveries: this.planned ? this.head.deliveries - 1 : this.head.deliveries,
      headNotBefore: this.notBefore,
    };
  }

  dirty(): boolean {
    const p = this.progress();
    const s = this.saved;
    return (
      p.checkpoint !== s.checkpoint ||
      p.deliveredUntil !== s.deliveredUntil ||
      p.headPosition !== s.headPosition ||
      p.headDeliveries !== s.headDeliveries ||
      p.headNotBefore !== s.headNotBefore
    );
  }
}
