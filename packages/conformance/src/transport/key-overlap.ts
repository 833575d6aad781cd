import type { Handle, Ledger, Seen } from './ledger.js';

/**
 * Counts handlers working on each partition key. A handler is "working" from its call until it
 * settles: once it has acked, the next event of its key may start even before the handler
 * function returns.
 */
export class KeyOverlap {
  private readonly working = new Map<string, number>();
  /** Keys that had two handlers working at once, with how many. */
  readonly overlaps: string[] = [];

  /** Wrap `handle` so the time until it settles counts as work on the delivery's key. */
  track(handle: Handle): Handle {
    return async (delivery, seen) => {
      const key = delivery.event.partitionkey;
      const working = (this.working.get(key) ?? 0) + 1;
      this.working.set(key, working);
      if (working > 1) this.overlaps.push(`${key} ×${working}`);
      let settled = false;
      const done = (): void => {
        if (settled) return;
        settled = true;
        this.working.set(key, this.working.get(key)! - 1);
      };
      try {
        await handle(
          {
            event: delivery.event,
            deliveryCount: delivery.deliveryCount,
            group: delivery.group,
            origin: delivery.origin,
            ack: () => {
              done();
              return delivery.ack();
            },
            nack: (options) => {
              done();
              return delivery.nack(options);
            },
          },
          seen,
        );
      } finally {
        done();
      }
    };
  }
}

/** For each key, the ids handed to handlers, in call order. */
export function deliveredByKey(deliveries: readonly Seen[]): Map<string, string[]> {
  const byKey = new Map<string, string[]>();
  for (const seen of deliveries) {
    const ids = byKey.get(seen.key) ?? [];
    ids.push(seen.id);
    byKey.set(seen.key, ids);
  }
  return byKey;
}

/** For each key, the ids acked, in ack order. */
export function ackedByKey(ledger: Ledger): Map<string, string[]> {
  return deliveredByKey(ledger.acks);
}
