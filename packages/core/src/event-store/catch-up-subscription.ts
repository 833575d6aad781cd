import { InvalidArgumentError, SubscriptionFailedError } from '../errors/index.js';
import type { StoredEvent } from '../envelope/index.js';
import { assertAllFilter, parseLimit, parsePosition } from './all-filter.js';
import type { ReadAllOptions, SubscribeOptions, Subscription } from './event-store.js';

/** What a store lends a {@link CatchUpSubscription}. */
export interface CatchUpSource {
  readAll(options: ReadAllOptions): Promise<StoredEvent[]>;
  /**
   * `readAll`, also telling how far it looked: every event up to `scannedTo` that matches
   * the filter is in the page when the page is not full. A filtered subscription then moves
   * past the events it does not want instead of reading them again on every wake.
   */
  readPage?(options: ReadAllOptions): Promise<{ events: StoredEvent[]; scannedTo: string }>;
  /** Call `wake` whenever new events may have committed; returns an unsubscribe function. */
  onAppend(wake: () => void): () => void;
  /**
   * How long to wait before reading again after `readAll` failed (the `attempt`-th failure
   * in a row), or undefined to end the subscription with SUBSCRIPTION_FAILED. Retries
   * resume from the last checkpoint, so no event is skipped or handled twice.
   */
  retryDelayMs?(error: unknown, attempt: number): number | undefined;
}

/**
 * Catch up on `$all` from a checkpoint, then go live. Reads pages until a short page shows
 * the log's end, then sleeps until the store signals an append. A wake that arrives while
 * a page is being read is remembered, so no commit between "read" and "sleep" is missed.
 */
export class CatchUpSubscription implements Subscription {
  position: string | undefined;
  live = false;
  readonly done: Promise<void>;
  private stopped = false;
  private pendingWake = false;
  private wakeUp: (() => void) | undefined;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly source: CatchUpSource,
    private readonly options: SubscribeOptions,
  ) {
    if (typeof options.handler !== 'function') {
      throw new InvalidArgumentError('subscribe needs a handler function');
    }
    if (options.after !== undefined) parsePosition(options.after, 'after');
    parseLimit(options.batchSize, 500);
    assertAllFilter(options);
    this.position = options.after;
    this.unsubscribe = source.onAppend(() => this.wake());
    this.done = this.run().finally(() => this.unsubscribe());
    // A failure is reported through `done`; keep Node from flagging it before anyone awaits.
    this.done.catch(() => undefined);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake();
    await this.done.catch(() => undefined);
  }

  private wake(): void {
    this.pendingWake = true;
    const resolve = this.wakeUp;
    this.wakeUp = undefined;
    resolve?.();
  }

  private async run(): Promise<void> {
    const batchSize = this.options.batchSize ?? 500;
    const { typePrefixes, categories, raw } = this.options;
    const filtered = (typePrefixes?.length ?? 0) > 0 || (categories?.length ?? 0) > 0;
    let cursor = this.position;
    let failures = 0;
    while (!this.stopped) {
      this.pendingWake = false;
      let page: StoredEvent[];
      let scannedTo: string | undefined;
      try {
        const request = { after: cursor, limit: batchSize, typePrefixes, categories, raw };
        if (filtered && this.source.readPage) {
          ({ events: page, scannedTo } = await this.source.readPage(request));
        } else {
          page = await this.source.readAll(request);
        }
        failures = 0;
      } catch (error) {
        const delay = this.stopped ? undefined : this.source.retryDelayMs?.(error, ++failures);
        if (delay !== undefined) {
          // `stop()` (or an append signal) cuts the wait short.
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, delay);
            this.wakeUp = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          continue;
        }
        throw new SubscriptionFailedError(
          'reading $all failed',
          { after: cursor },
          { cause: error },
        );
      }
      for (const event of page) {
        if (this.stopped) return;
        try {
          await this.options.handler(event);
        } catch (error) {
          throw new SubscriptionFailedError(
            `subscription handler failed on event ${event.id} at position ${event.position}`,
            { eventId: event.id, position: event.position },
            { cause: error },
          );
        }
        this.position = event.position;
      }
      // With a filter, a page can end before the log does; advance past what was scanned.
      if (page.length > 0) cursor = page[page.length - 1]!.position;
      if (
        page.length < batchSize &&
        scannedTo !== undefined &&
        (cursor === undefined || BigInt(scannedTo) > BigInt(cursor))
      ) {
        cursor = scannedTo;
      }
      if (page.length < batchSize) {
        this.live = true;
        if (!this.pendingWake && !this.stopped) {
          await new Promise<void>((resolve) => (this.wakeUp = resolve));
        }
      }
    }
  }
}

/**
 * A store's running subscriptions: each is forgotten when it ends, and `stopAll` stops
 * those still running (what `close()` must do).
 */
export class SubscriptionSet {
  private readonly running = new Set<Subscription>();

  start(source: CatchUpSource, options: SubscribeOptions): Subscription {
    const subscription = new CatchUpSubscription(source, options);
    this.running.add(subscription);
    void subscription.done.catch(() => undefined).finally(() => this.running.delete(subscription));
    return subscription;
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.running].map((s) => s.stop()));
  }
}
