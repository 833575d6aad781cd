import type { EventStore, StoredEvent, SubscribeOptions, Subscription } from '@eventfabric/core';

/** How long a live event may take to reach a subscriber. */
export const DELIVERY_TIMEOUT_MS = 2000;

/** A subscription whose handler records every event it is given. */
export interface RecordedSubscription {
  readonly subscription: Subscription;
  /** Every event the handler was called with, in call order. */
  readonly events: StoredEvent[];
  /** Resolves once the handler has been called `count` times; rejects after `timeoutMs`. */
  waitForCount(count: number, timeoutMs?: number): Promise<void>;
}

/** Options for {@link recordSubscription}: `handle` runs after the event is recorded. */
export type RecordOptions = Omit<SubscribeOptions, 'handler'> & {
  handle?: (event: StoredEvent) => Promise<void> | void;
};

export function recordSubscription(
  store: EventStore,
  options: RecordOptions = {},
): RecordedSubscription {
  const events: StoredEvent[] = [];
  const waiters = new Set<() => void>();
  const { handle, ...subscribeOptions } = options;
  const subscription = store.subscribe({
    ...subscribeOptions,
    handler: (event) => {
      events.push(event);
      for (const check of waiters) check();
      return handle?.(event);
    },
  });
  return {
    subscription,
    events,
    waitForCount: (count, timeoutMs = DELIVERY_TIMEOUT_MS) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(`expected ${count} events within ${timeoutMs} ms, got ${events.length}`),
          );
        }, timeoutMs);
        function check(): void {
          if (events.length < count) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        }
        waiters.add(check);
        check();
        subscription.done.then(
          () => check(),
          (error: unknown) => {
            if (!waiters.has(check)) return;
            clearTimeout(timer);
            waiters.delete(check);
            reject(error instanceof Error ? error : new Error(String(error)));
          },
        );
      }),
  };
}

/** Resolve once `condition()` holds, checking every few ms; reject after `timeoutMs`. */
export async function waitUntil(
  condition: () => boolean,
  what: string,
  timeoutMs = DELIVERY_TIMEOUT_MS,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Settle with `promise`, or reject when it takes longer than `timeoutMs`. */
export function within<T>(
  promise: Promise<T>,
  what: string,
  timeoutMs = DELIVERY_TIMEOUT_MS,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)),
      timeoutMs,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
