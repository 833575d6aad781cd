import type { Delivery, DeliveryHandler, NackOptions } from '@eventfabric/core';
import { expect } from 'vitest';
import { DELIVERY_TIMEOUT_MS, QUIET_MS, sleep, waitFor } from './fixtures.js';

/** One handler call, as the ledger saw it. */
export interface Seen {
  /** The label of the member (connection and subscription) that got it. */
  readonly member: string;
  readonly id: string;
  readonly key: string;
  readonly deliveryCount: number;
  /**
   * How many times this ledger has seen the event, this time included. Handlers decide on it
   * rather than on `deliveryCount`, so a transport that miscounts fails an assertion instead
   * of looping forever.
   */
  readonly timesSeen: number;
  /** `Date.now()` when the handler was called. */
  readonly at: number;
  /** The delivery as the transport handed it over. */
  readonly delivery: Delivery;
}

/**
 * What a handler does with a delivery. It gets a delivery whose `ack` and `nack` the ledger
 * records; the ledger's default is to ack.
 */
export type Handle = (delivery: Delivery, seen: Seen) => Promise<void>;

const ack: Handle = (delivery) => delivery.ack();

/**
 * Records what every member of a test handled: each delivery in call order, and each ack and
 * nack once the transport has taken it. Several members may share one ledger.
 */
export class Ledger {
  readonly deliveries: Seen[] = [];
  /** Deliveries whose `ack()` resolved, in that order. */
  readonly acks: Seen[] = [];
  /** Deliveries whose `nack()` resolved, in that order. */
  readonly nacks: Seen[] = [];
  private readonly seenCounts = new Map<string, number>();

  /** A handler for `member` that records each delivery, then runs `handle`. */
  handler(member: string, handle: Handle = ack): DeliveryHandler {
    return async (delivery) => {
      const id = delivery.event.id;
      const timesSeen = (this.seenCounts.get(id) ?? 0) + 1;
      this.seenCounts.set(id, timesSeen);
      const seen: Seen = {
        member,
        id,
        timesSeen,
        key: delivery.event.partitionkey,
        deliveryCount: delivery.deliveryCount,
        at: Date.now(),
        delivery,
      };
      this.deliveries.push(seen);
      const recorded: Delivery = {
        event: delivery.event,
        deliveryCount: delivery.deliveryCount,
        group: delivery.group,
        origin: delivery.origin,
        ack: async () => {
          await delivery.ack();
          this.acks.push(seen);
        },
        nack: async (options?: NackOptions) => {
          await delivery.nack(options);
          this.nacks.push(seen);
        },
      };
      await handle(recorded, seen);
    };
  }

  deliveriesOf(id: string): Seen[] {
    return this.deliveries.filter((seen) => seen.id === id);
  }

  /** Ids in the order they were acked. */
  ackedIds(): string[] {
    return this.acks.map((seen) => seen.id);
  }

  /** Resolve once every one of `ids` has been acked at least once. */
  async waitForAcked(ids: readonly string[], timeoutMs = DELIVERY_TIMEOUT_MS): Promise<void> {
    const acked = new Set<string>();
    let counted = 0;
    const missing = (): number => {
      for (; counted < this.acks.length; counted++) acked.add(this.acks[counted]!.id);
      return ids.filter((id) => !acked.has(id)).length;
    };
    await waitFor(
      () => missing() === 0,
      timeoutMs,
      () => `${ids.length} events to be acked; ${missing()} still are not`,
    );
  }

  /** Resolve once `predicate()` holds; the timeout names `what`. */
  async waitUntil(
    predicate: () => boolean,
    what: string,
    timeoutMs = DELIVERY_TIMEOUT_MS,
  ): Promise<void> {
    await waitFor(
      predicate,
      timeoutMs,
      () => `${what} (${this.deliveries.length} deliveries, ${this.acks.length} acks so far)`,
    );
  }

  /**
   * Watch for {@link QUIET_MS} and fail if anything is delivered meanwhile: after every event
   * was acked, nothing may come again.
   */
  async expectQuiet(): Promise<void> {
    const before = this.deliveries.length;
    await sleep(QUIET_MS);
    expect(
      this.deliveries.slice(before).map((seen) => `${seen.id} (count ${seen.deliveryCount})`),
      'deliveries after every event was settled',
    ).toEqual([]);
  }

  /** Every one of `ids` was acked exactly once, and nothing else was acked. */
  expectEachAckedOnce(ids: readonly string[]): void {
    expect([...this.ackedIds()].sort()).toEqual([...ids].sort());
  }
}
