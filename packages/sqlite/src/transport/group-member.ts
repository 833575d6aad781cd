import type { EventEmitter } from 'node:events';
import type Database from 'better-sqlite3';
import type { Delivery, DeliveryHandler, NackOptions } from '@eventfabric/core';
import type { PartitionRow } from '../sql/partition-row.js';
import type { PartitionProgress } from '../sql/save-partition-progress.js';
import { writeWhenFree } from './busy-retry.js';
import { GroupCheckpoints } from './group-checkpoints.js';
import { HeldPartitions } from './held-partitions.js';
import { nackDelay } from './nack-delay.js';
import { PartitionLeases } from './partition-lease.js';
import { PartitionState } from './partition-state.js';
import { ReadAhead } from './read-ahead.js';
import { WriteQueue } from './write-queue.js';

/** Everything one member of a consumer group needs; resolved by the transport. */
export interface GroupMemberOptions {
  /** The transport's own connection: never one a handler may hold a transaction on. */
  db: Database.Database;
  group: string;
  memberId: string;
  /** The group's partition count, fixed when the group was created. */
  partitions: number;
  matches: (type: string) => boolean;
  handler: DeliveryHandler;
  prefetch: number;
  concurrency: number;
  leaseMs: number;
  checkpointEvery: number;
  checkpointDelayMs: number;
  drainTimeoutMs: number;
  busyTimeoutMs: number;
  /** Wake on every commit to the file, from this process or another. */
  onAppend: (wake: () => void) => () => void;
  /** Members of this file in this process: a join or a release wakes the others at once. */
  peers: EventEmitter;
  report: (error: unknown, operation: string) => void;
}

/** Wait before retrying a write that failed. */
const RETRY_MS = 200;

/**
 * One member of a consumer group: holds some of the group's partitions, reads the log ahead
 * for them, hands each partition's events to the handler one at a time and in position order,
 * and keeps its checkpoints, leases and delivery counts in the database.
 *
 * All writes go through one queue, each in its own `BEGIN IMMEDIATE` transaction retried
 * without blocking the event loop, so the in-memory state changes only after a commit.
 */
export class GroupMember {
  private readonly held = new HeldPartitions();
  private running = 0;
  private readonly inflight = new Set<Promise<void>>();
  private stopped = false;
  private closing: Promise<void> | undefined;
  private readonly writes = new WriteQueue();
  private unsavedAcks = 0;
  private leaseValidUntil = 0;
  private share: number;
  private pulseScheduled = false;
  private dispatchScheduled = false;
  private flushTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private delayTimer: NodeJS.Timeout | undefined;
  private delayAt = Infinity;
  private renewTimer: NodeJS.Timeout | undefined;
  private stopListening: () => void = () => undefined;
  private readonly readAhead: ReadAhead;
  private readonly leases: PartitionLeases;
  private readonly checkpoints: GroupCheckpoints;
  private readonly origin: string;
  private readonly onPeerChange = (): void => this.wake();

  constructor(private readonly o: GroupMemberOptions) {
    this.readAhead = new ReadAhead(o.db, o.partitions, o.matches, o.prefetch);
    this.leases = new PartitionLeases(o.db, o.group, o.memberId, o.partitions, o.leaseMs);
    this.checkpoints = new GroupCheckpoints(o.db, o.group, o.memberId);
    this.share = o.partitions;
    this.origin = `${o.group}/partition-`;
  }

  /** The partitions this member holds now, in order. */
  partitions(): number[] {
    return this.held.list().map((st) => st.partition);
  }

  /** Join the group: heartbeat, take a share of the partitions, start reading. */
  async start(): Promise<void> {
    await this.refresh();
    // Closed while joining: close() releases what the refresh took.
    if (this.stopped) return;
    this.stopListening = this.o.onAppend(() => this.wake());
    this.o.peers.on('change', this.onPeerChange);
    this.o.peers.emit('change');
    // Renewal also backs up the wake-ups. The timer keeps the process alive while subscribed,
    // as an open broker connection would.
    this.renewTimer = setInterval(
      () => {
        this.refresh().catch((error: unknown) => this.o.report(error, 'renew leases'));
        this.wake();
      },
      Math.max(20, Math.floor(this.o.leaseMs / 3)),
    );
    this.wake();
  }

  /**
   * Stop delivering, wait for handlers in flight (up to the drain timeout), then write every
   * checkpoint and release every partition to the rest of the group. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.stopped = true;
      this.stopListening();
      this.o.peers.off('change', this.onPeerChange);
      clearTimeout(this.delayTimer);
      await drain(this.inflight, this.o.drainTimeoutMs);
      clearInterval(this.renewTimer);
      clearTimeout(this.flushTimer);
      clearTimeout(this.retryTimer);
      try {
        await this.writes.run(() =>
          writeWhenFree(
            this.o.db,
            () => {
              this.leases.release(this.held.list().map((st) => st.releaseProgress()));
              this.leases.leave();
            },
            this.o.busyTimeoutMs,
          ),
        );
      } catch (error) {
        // The leases expire on their own; the next holder counts what was in flight.
        this.o.report(error, 'release partitions');
      }
      this.held.clear();
      this.o.peers.emit('change');
    })();
    return this.closing;
  }

  /** Something may have changed in the file: new events, a member joining or leaving. */
  private wake(): void {
    for (const st of this.held.list()) st.caughtUp = false;
    this.schedulePulse();
  }

  private schedulePulse(): void {
    if (this.pulseScheduled || this.stopped) return;
    this.pulseScheduled = true;
    setImmediate(() => {
      this.pulseScheduled = false;
      this.pulse();
    });
  }

  private pulse(): void {
    if (this.stopped) return;
    try {
      this.rebalance();
      if (this.readAhead.fill(this.held.map)) this.schedulePulse();
    } catch (error) {
      this.o.report(error, 'read the log');
    }
    this.dispatch();
  }

  /** Shed partitions above the fair share; take free ones when below it. */
  private rebalance(): void {
    const { share, claimable } = this.leases.probe(Date.now());
    this.share = share;
    this.shed();
    if (claimable && this.held.kept() < share) {
      this.refresh().catch((error: unknown) => this.o.report(error, 'claim partitions'));
    }
  }

  private shed(): void {
    this.held.shed(this.share);
    this.releaseIdle();
  }

  /** Heartbeat, renew leases, take a share of free partitions, and write checkpoints. */
  private refresh(): Promise<void> {
    return this.writes.coalesce('refresh', async () => {
      const started = Date.now();
      let rows: PartitionRow[] = [];
      let saved: [PartitionState, PartitionProgress][] = [];
      let lost: number[] = [];
      await writeWhenFree(
        this.o.db,
        () => {
          const refresh = this.leases.refresh(started, !this.stopped);
          rows = refresh.held;
          this.share = refresh.share;
          saved = this.held.dirty();
          lost = this.checkpoints.save(saved.map(([, progress]) => progress));
        },
        this.o.busyTimeoutMs,
      );
      this.leaseValidUntil = started + this.o.leaseMs;
      this.applySaved(saved, lost);
      const stillHeld = new Set(rows.map((row) => Number(row.partition)));
      for (const st of this.held.list()) if (!stillHeld.has(st.partition)) this.held.drop(st);
      for (const row of rows) {
        if (!this.held.has(Number(row.partition))) this.held.adopt(new PartitionState(row));
      }
      this.shed();
      this.wake();
    });
  }

  private scheduleDispatch(): void {
    if (this.dispatchScheduled) return;
    this.dispatchScheduled = true;
    queueMicrotask(() => {
      this.dispatchScheduled = false;
      this.dispatch();
    });
  }

  /** Hand each ready partition's first event to the handler, up to the concurrency. */
  private dispatch(): void {
    if (this.stopped) return;
    const now = Date.now();
    if (now >= this.leaseValidUntil) {
      // Never deliver on an expired lease: another member may hold the partition by now.
      this.refresh().catch((error: unknown) => this.o.report(error, 'renew leases'));
      return;
    }
    const fair = Math.max(1, Math.ceil(this.o.prefetch / Math.max(1, this.held.size)));
    let needSave = false;
    let needData = false;
    let wakeAt = Infinity;
    for (const st of this.held.rotation()) {
      if (st.releasing) continue;
      if (!st.caughtUp && st.queue.length <= fair / 2) needData = true;
      if (st.out || st.holding || st.queue.length === 0 || this.running >= this.o.concurrency) {
        continue;
      }
      if (st.notBefore > now) {
        wakeAt = Math.min(wakeAt, st.notBefore);
        continue;
      }
      st.plan();
      if (st.ready()) this.deliver(st);
      else needSave = true;
    }
    if (needSave) this.save().catch((error: unknown) => this.o.report(error, 'save progress'));
    if (wakeAt !== Infinity) this.wakeAt(wakeAt);
    if (needData) this.schedulePulse();
  }

  private wakeAt(at: number): void {
    if (this.delayTimer && this.delayAt <= at) return;
    clearTimeout(this.delayTimer);
    this.delayAt = at;
    this.delayTimer = setTimeout(
      () => {
        this.delayTimer = undefined;
        this.delayAt = Infinity;
        this.scheduleDispatch();
      },
      Math.max(0, at - Date.now()),
    );
  }

  private deliver(st: PartitionState): void {
    const entry = st.queue[0]!;
    const token = Symbol('delivery');
    st.out = token;
    st.planned = false;
    this.running++;
    const delivery: Delivery = {
      event: entry.event,
      deliveryCount: st.head.deliveries,
      group: this.o.group,
      origin: this.origin + st.partition,
      ack: () => this.settle(st, token, true, 0),
      nack: async (options?: NackOptions) => this.settle(st, token, false, nackDelay(options)),
    };
    const run = (async () => {
      try {
        await this.o.handler(delivery);
      } catch {
        // A handler that throws has not handled the event: a nack, below.
      }
      await this.settle(st, token, false, 0);
    })()
      .catch((error: unknown) => this.o.report(error, 'settle'))
      .finally(() => {
        this.running--;
        this.inflight.delete(run);
        this.scheduleDispatch();
      });
    this.inflight.add(run);
  }

  /** Settle a delivery once; a stale one (settled, or its partition gone) is ignored. */
  private async settle(
    st: PartitionState,
    token: symbol,
    ack: boolean,
    delayMs: number,
  ): Promise<void> {
    if (!this.held.holds(st) || st.out !== token) return;
    st.out = undefined;
    this.scheduleDispatch();
    if (st.releasing) this.releaseIdle();
    if (!ack) {
      st.notBefore = Date.now() + delayMs;
      return;
    }
    const entry = st.queue.shift()!;
    if (!st.caughtUp) this.schedulePulse();
    if (st.head.position === entry.position && st.head.deliveries > 1) {
      // A redelivery: make the ack durable before the partition moves on, so a crash on the
      // next event cannot be blamed on this one. The key's next event waits until the caller
      // has seen this ack resolve.
      st.mustSaveUpTo = entry.position;
      st.holding = true;
      try {
        await this.save();
      } finally {
        setImmediate(() => {
          st.holding = false;
          this.scheduleDispatch();
        });
      }
      return;
    }
    if (++this.unsavedAcks >= this.o.checkpointEvery) {
      this.save().catch((error: unknown) => this.o.report(error, 'save progress'));
    } else if (!this.flushTimer) {
      this.flushTimer = setTimeout(() => {
        this.flushTimer = undefined;
        this.save().catch((error: unknown) => this.o.report(error, 'save progress'));
      }, this.o.checkpointDelayMs);
    }
  }

  /** Write every partition whose progress changed, in one transaction. Coalesces callers. */
  private save(): Promise<void> {
    return this.writes.coalesce('save', async () => {
      clearTimeout(this.flushTimer);
      this.flushTimer = undefined;
      this.unsavedAcks = 0;
      let saved: [PartitionState, PartitionProgress][] = [];
      let lost: number[] = [];
      try {
        await writeWhenFree(
          this.o.db,
          () => {
            saved = this.held.dirty();
            lost = this.checkpoints.save(saved.map(([, progress]) => progress));
          },
          this.o.busyTimeoutMs,
        );
      } catch (error) {
        this.retrySave();
        throw error;
      }
      this.applySaved(saved, lost);
    });
  }

  private retrySave(): void {
    if (this.retryTimer || this.stopped) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.save().catch((error: unknown) => this.o.report(error, 'save progress'));
    }, RETRY_MS);
  }

  private applySaved(saved: [PartitionState, PartitionProgress][], lost: number[]): void {
    for (const [st, progress] of saved) if (this.held.holds(st)) st.saved = progress;
    for (const partition of lost) {
      const st = this.held.get(partition);
      if (st) this.held.drop(st);
    }
    this.scheduleDispatch();
  }

  /** Release the partitions being shed that have nothing in flight. */
  private releaseIdle(): void {
    if (this.held.releasable().length === 0) return;
    this.writes
      .coalesce('release', async () => {
        let idle: PartitionState[] = [];
        await writeWhenFree(
          this.o.db,
          () => {
            idle = this.held.releasable();
            this.leases.release(idle.map((st) => st.releaseProgress()));
          },
          this.o.busyTimeoutMs,
        );
        for (const st of idle) this.held.drop(st);
        if (idle.length > 0) this.o.peers.emit('change');
      })
      .catch((error: unknown) => this.o.report(error, 'release partitions'));
  }
}

async function drain(inflight: Set<Promise<void>>, timeoutMs: number): Promise<void> {
  if (inflight.size === 0) return;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
  await Promise.race([Promise.allSettled([...inflight]), deadline]);
  clearTimeout(timer);
}
