/**
 * The idempotency record of handlers: (handler, event id) pairs already handled.
 *
 * Implementations must guarantee that `once` runs `effect` at most once to completion per
 * (handler, event id), and, where they offer a transaction, that the record commits in the
 * same transaction as the effect's writes through `tx`: either both persist or neither.
 */
export interface ProcessedEvents {
  /**
   * Run `effect` unless (handler, eventId) is recorded, then record it.
   * @returns false when the pair was already recorded and `effect` was skipped
   */
  once(
    handler: string,
    eventId: string,
    effect: (tx: unknown) => Promise<void>,
    options?: { transactional?: boolean },
  ): Promise<boolean>;
  /** True when the pair is recorded. */
  has(handler: string, eventId: string): Promise<boolean>;
}

/**
 * A key store for side effects outside the database (an e-mail sent, a payment API called):
 * remember a key for a while, and ask before acting again.
 */
export interface IdempotencyKeyStore {
  has(key: string): Promise<boolean>;
  /** Remember `key` for `ttlMs` milliseconds. Putting a key again extends it. */
  put(key: string, ttlMs: number): Promise<void>;
}

/** The reference {@link ProcessedEvents}, in memory; `tx` is undefined. */
export class InMemoryProcessedEvents implements ProcessedEvents {
  private readonly done = new Set<string>();
  private readonly running = new Map<string, Promise<boolean>>();

  async once(
    handler: string,
    eventId: string,
    effect: (tx: unknown) => Promise<void>,
  ): Promise<boolean> {
    const key = `${handler}\u0000${eventId}`;
    if (this.done.has(key)) return false;
    // Two deliveries of one event in flight at once: the second waits for the first.
    const pending = this.running.get(key);
    if (pending) return pending.then(() => this.once(handler, eventId, effect));
    const run = (async () => {
      await effect(undefined);
      this.done.add(key);
      return true;
    })().finally(() => this.running.delete(key));
    this.running.set(key, run);
    return run;
  }

  async has(handler: string, eventId: string): Promise<boolean> {
    return this.done.has(`${handler}\u0000${eventId}`);
  }
}

/** The reference {@link IdempotencyKeyStore}, in memory, with expiry. */
export class InMemoryIdempotencyKeyStore implements IdempotencyKeyStore {
  private readonly keys = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  async has(key: string): Promise<boolean> {
    const until = this.keys.get(key);
    if (until === undefined) return false;
    if (until <= this.now()) {
      this.keys.delete(key);
      return false;
    }
    return true;
  }

  async put(key: string, ttlMs: number): Promise<void> {
    this.keys.set(key, this.now() + ttlMs);
  }
}
