import type Database from 'better-sqlite3';
import type { CloudEvent } from '@eventfabric/core';
import { prepareScanLog } from '../sql/scan-log.js';
import { partitionOf } from './partition-hash.js';
import type { PartitionState } from './partition-state.js';

/** Rows read per scan of the log. */
const PAGE_SIZE = 512;
/** Pages read in one go before yielding to the handlers. */
const PAGES_PER_FILL = 8;

/**
 * Reads the log ahead into the buffers of the partitions a member holds. One scan serves
 * every partition: rows are routed by the hash of their partition key, and only the member's
 * matching events are parsed. Each partition may hold `ceil(prefetch / partitions held)`
 * events, and more while the member's total stays under `prefetch`, so a partition blocked
 * behind a nack cannot starve the others.
 */
export class ReadAhead {
  private readonly scan;

  constructor(
    db: Database.Database,
    private readonly partitions: number,
    private readonly matches: (type: string) => boolean,
    private readonly prefetch: number,
  ) {
    this.scan = prepareScanLog(db);
  }

  /** Fill what has room; returns true when there is more to read right now. */
  fill(held: ReadonlyMap<number, PartitionState>): boolean {
    for (let page = 0; page < PAGES_PER_FILL; page++) {
      const fair = Math.max(1, Math.ceil(this.prefetch / Math.max(1, held.size)));
      let buffered = 0;
      for (const st of held.values()) buffered += st.queue.length;
      const room = (st: PartitionState): boolean =>
        st.queue.length < fair || buffered < this.prefetch;
      const wanted = new Set<PartitionState>();
      let from: bigint | undefined;
      for (const st of held.values()) {
        if (st.releasing || st.caughtUp || !room(st)) continue;
        wanted.add(st);
        if (from === undefined || st.readPos < from) from = st.readPos;
      }
      if (from === undefined) return false;
      const capped = new Set<PartitionState>();
      let last = from;
      let rows = 0;
      for (const row of this.scan.iterate(from, PAGE_SIZE)) {
        rows++;
        last = row.position;
        if (!this.matches(row.type)) continue;
        const st = held.get(partitionOf(row.partition_key, this.partitions));
        if (!st || !wanted.has(st) || capped.has(st) || row.position <= st.readPos) continue;
        if (!room(st)) {
          capped.add(st);
          if (capped.size === wanted.size) break;
          continue;
        }
        // The event as published: its place in the log is not part of it.
        st.queue.push({ position: row.position, event: JSON.parse(row.body) as CloudEvent });
        st.readPos = row.position;
        buffered++;
      }
      // Every row up to `last` was considered for the partitions that were not capped.
      const atEnd = rows < PAGE_SIZE && capped.size < wanted.size;
      for (const st of wanted) {
        if (capped.has(st)) continue;
        if (st.readPos < last) st.readPos = last;
        if (atEnd) st.caughtUp = true;
      }
      if (atEnd) return false;
    }
    return true;
  }
}
