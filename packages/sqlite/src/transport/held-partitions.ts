import type { PartitionProgress } from '../sql/save-partition-progress.js';
import type { PartitionState } from './partition-state.js';

/** The partitions a member holds, by number and in order. */
export class HeldPartitions {
  private readonly byNumber = new Map<number, PartitionState>();
  private ordered: PartitionState[] = [];
  private next = 0;

  get size(): number {
    return this.byNumber.size;
  }

  /** By partition number, for routing rows. */
  get map(): ReadonlyMap<number, PartitionState> {
    return this.byNumber;
  }

  list(): readonly PartitionState[] {
    return this.ordered;
  }

  has(partition: number): boolean {
    return this.byNumber.has(partition);
  }

  /** Still held: a partition dropped and taken again is a new state. */
  holds(st: PartitionState): boolean {
    return this.byNumber.get(st.partition) === st;
  }

  get(partition: number): PartitionState | undefined {
    return this.byNumber.get(partition);
  }

  adopt(st: PartitionState): void {
    this.byNumber.set(st.partition, st);
    this.ordered = [...this.byNumber.values()].sort((a, b) => a.partition - b.partition);
  }

  /** Forget a partition; its buffer is dropped and a late settle of its delivery is ignored. */
  drop(st: PartitionState): void {
    if (!this.holds(st)) return;
    this.byNumber.delete(st.partition);
    this.ordered = this.ordered.filter((other) => other !== st);
    st.queue.length = 0;
  }

  clear(): void {
    for (const st of this.ordered) st.queue.length = 0;
    this.byNumber.clear();
    this.ordered = [];
  }

  /** Every partition, starting one further on each call, so none always goes first. */
  rotation(): PartitionState[] {
    const count = this.ordered.length;
    if (count === 0) return [];
    const start = this.next++ % count;
    return [...this.ordered.slice(start), ...this.ordered.slice(0, start)];
  }

  /** Mark partitions beyond `share` for release: idle ones first, then the least busy. */
  shed(share: number): void {
    const kept = this.ordered.filter((st) => !st.releasing);
    const surplus = kept.length - share;
    if (surplus <= 0) return;
    const busy = (st: PartitionState): number => (st.out ? 2 : st.queue.length > 0 ? 1 : 0);
    kept.sort((a, b) => busy(a) - busy(b) || b.partition - a.partition);
    for (const st of kept.slice(0, surplus)) st.releasing = true;
  }

  kept(): number {
    return this.ordered.filter((st) => !st.releasing).length;
  }

  /** Partitions marked for release with nothing in flight. */
  releasable(): PartitionState[] {
    return this.ordered.filter((st) => st.releasing && !st.out);
  }

  /** Partitions whose progress differs from what the database holds, with that progress. */
  dirty(): [PartitionState, PartitionProgress][] {
    return this.ordered.filter((st) => st.dirty()).map((st) => [st, st.progress()]);
  }
}
