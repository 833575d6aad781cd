import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import {
  InvalidArgumentError,
  type CloudEvent,
  type Delivery,
  type DeliveryHandler,
  type NackOptions,
} from '@eventfabric/core';
import type { Pool } from '../driver.js';
import {
  ackMessages,
  claimMessages,
  extendLeases,
  nackMessage,
  nextDelayMs,
  releaseMember,
  type QueueMessageRow,
} from '../sql/queue-statements.js';

/** What a member needs from its transport. */
export interface QueueMemberContext {
  pool: Pool;
  /** The quoted schema name. */
  s: string;
  group: string;
  /** The NOTIFY channel of the queue. */
  channel: string;
  origin: string;
  handler: DeliveryHandler;
  prefetch: number;
  concurrency: number;
  leaseMs: number;
  drainTimeoutMs: number;
}

/** A claimed message this member has not settled yet. */
interface Held {
  row: QueueMessageRow;
  settled: boolean;
  /** Handed back to the group at close: a late settle must not touch it. */
  abandoned: boolean;
}

interface PendingAck {
  held: Held;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * One member of a consumer group: claims ready messages as handler slots free up (never
 * more than `prefetch` unsettled), runs up to `concurrency` handlers, and settles each delivery with a guarded DELETE or UPDATE.
 * Acks that arrive while one is being written go out together in the next statement.
 */
export class QueueMember {
  /** Written into `locked_by`; unique per member, readable in the table. */
  readonly id = `${hostname()}:${process.pid}:${randomUUID()}`;
  private closed = false;
  private closing: Promise<void> | undefined;
  /** Claimed and not yet handed to a handler, in id order. */
  private readonly waiting: Held[] = [];
  /** Every claimed, unsettled delivery, started or not. */
  private readonly held = new Map<string, Held>();
  private running = 0;
  private readonly inflight = new Set<Promise<void>>();
  private pumping: Promise<void> | undefined;
  private again = false;
  private delayTimer: NodeJS.Timeout | undefined;
  private readonly heartbeat: NodeJS.Timeout;
  private readonly acks: PendingAck[] = [];
  private flushing: Promise<void> | undefined;

  constructor(private readonly ctx: QueueMemberContext) {
    this.heartbeat = setInterval(() => this.renewLeases(), Math.max(10, ctx.leaseMs / 3));
    this.heartbeat.unref();
  }

  /** Look for work now. Cheap to call often: wake-ups during a claim coalesce into one more. */
  wake(): void {
    if (this.closed) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = this.pump().finally(() => (this.pumping = undefined));
  }

  private async pump(): Promise<void> {
    try {
      do {
        this.again = false;
        while (!this.closed) {
          // Claim only what can start now: a claimed message is invisible to the rest of
          // the group, so claiming ahead would starve the other members. `prefetch` still
          // bounds it, through `concurrency ≤ prefetch`.
          const room = Math.min(this.ctx.prefetch, this.ctx.concurrency) - this.held.size;
          if (room <= 0) break;
          const rows = await claimMessages(
            this.ctx.pool,
            this.ctx.s,
            this.ctx.group,
            this.id,
            room,
            this.ctx.leaseMs,
          );
          for (const row of rows) {
            const held: Held = { row, settled: false, abandoned: false };
            this.held.set(row.id, held);
            this.waiting.push(held);
          }
          this.dispatch();
          if (rows.length < room) {
            if (!this.closed) await this.watchDelayed();
            break;
          }
        }
      } while (this.again && !this.closed);
    } catch {
      // The database is unreachable or the pool is closing: the next notification or poll
      // tick tries again, and leases left behind expire.
    }
  }

  /** Wake when the group's next delayed message becomes ready. */
  private async watchDelayed(): Promise<void> {
    const wait = await nextDelayMs(this.ctx.pool, this.ctx.s, this.ctx.group);
    if (this.delayTimer) clearTimeout(this.delayTimer);
    this.delayTimer = undefined;
    if (wait === undefined || this.closed) return;
    this.delayTimer = setTimeout(
      () => {
        this.delayTimer = undefined;
        this.wake();
      },
      Math.ceil(wait) + 2,
    );
    this.delayTimer.unref();
  }

  /** Start handlers for waiting deliveries while there is a free slot. */
  private dispatch(): void {
    while (!this.closed && this.running < this.ctx.concurrency && this.waiting.length > 0) {
      this.start(this.waiting.shift()!);
    }
  }

  private start(held: Held): void {
    const { row } = held;
    this.running++;
    const settle = async (ack: boolean, delayMs = 0): Promise<void> => {
      if (held.settled) return;
      held.settled = true;
      if (held.abandoned) return;
      try {
        if (ack) await this.ack(held);
        else await nackMessage(this.ctx.pool, this.ctx.s, this.id, row.id, row.deliveries, delayMs);
      } finally {
        this.held.delete(row.id);
        this.wake();
      }
    };
    const delivery: Delivery = {
      event: JSON.parse(row.body) as CloudEvent,
      deliveryCount: row.deliveries,
      group: this.ctx.group,
      origin: this.ctx.origin,
      ack: () => settle(true),
      nack: async (options?: NackOptions) => settle(false, nackDelay(options)),
    };
    const run = (async () => {
      try {
        await this.ctx.handler(delivery);
      } catch {
        // A handler that throws has not handled the event.
      }
      // Returning without settling counts as a nack.
      await settle(false).catch(() => undefined);
    })().finally(() => {
      this.running--;
      this.inflight.delete(run);
      this.dispatch();
    });
    this.inflight.add(run);
  }

  private ack(held: Held): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.acks.push({ held, resolve, reject });
      this.flushing ??= this.flushAcks().finally(() => (this.flushing = undefined));
    });
  }

  /** Write pending acks, all those queued meanwhile in one DELETE, until none is left. */
  private async flushAcks(): Promise<void> {
    while (this.acks.length > 0) {
      const batch = this.acks.splice(0);
      try {
        await ackMessages(
          this.ctx.pool,
          this.ctx.s,
          this.id,
          batch.map(({ held }) => ({ id: held.row.id, deliveries: held.row.deliveries })),
        );
        for (const pending of batch) pending.resolve();
      } catch (error) {
        for (const pending of batch) pending.reject(error);
      }
    }
  }

  private renewLeases(): void {
    if (this.closed || this.held.size === 0) return;
    const ids = [...this.held.keys()];
    extendLeases(this.ctx.pool, this.ctx.s, this.id, ids, this.ctx.leaseMs).catch(() => undefined);
  }

  /**
   * Stop claiming, wait up to the drain timeout for handlers in flight, then hand whatever
   * is still unsettled back to the group. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.closed = true;
    clearInterval(this.heartbeat);
    if (this.delayTimer) clearTimeout(this.delayTimer);
    await this.pumping;
    await drain(this.inflight, this.ctx.drainTimeoutMs);
    await this.flushing;
    const unstarted = this.waiting.splice(0).map((held) => held.row.id);
    for (const held of this.held.values()) held.abandoned = true;
    if (this.held.size > 0) {
      this.held.clear();
      await releaseMember(this.ctx.pool, this.ctx.s, this.id, unstarted, this.ctx.channel).catch(
        () => undefined,
      );
    }
  }
}

function nackDelay(options: NackOptions | undefined): number {
  const delay = options?.delayMs ?? 0;
  if (typeof delay !== 'number' || !Number.isFinite(delay) || delay < 0) {
    throw new InvalidArgumentError('nack delayMs must be a non-negative number', {
      delayMs: delay,
    });
  }
  return Math.round(delay);
}

async function drain(inflight: Set<Promise<void>>, timeoutMs: number): Promise<void> {
  if (inflight.size === 0) return;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
  await Promise.race([Promise.allSettled([...inflight]), deadline]);
  clearTimeout(timer);
}
