/**
 * Items taken from a subscription and applied in batches, one batch at a time: what the
 * projection and saga daemons put between their subscription and their transactions.
 *
 * A batch takes the buffer when it starts, not when it is queued: items that arrive while
 * one runs go out together in the next, so under load batches grow (up to `batchSize`)
 * instead of small transactions queueing up. A partial batch waits one turn of the event
 * loop for company.
 */
export class BatchQueue<T> {
  private buffer: T[] = [];
  private chain: Promise<void> = Promise.resolve();
  private scheduled = false;
  private queued = false;

  constructor(
    private readonly batchSize: number,
    private readonly apply: (batch: T[]) => Promise<void>,
  ) {}

  /**
   * Buffer `item`. With a full batch buffered, returns the promise of its application: the
   * subscription awaits it, which holds its reading back (backpressure).
   */
  push(item: T): Promise<void> | void {
    this.buffer.push(item);
    if (this.buffer.length >= this.batchSize) return this.flush();
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        void this.flush();
      });
    }
  }

  /** Apply everything buffered; resolves when it (and every batch before it) is applied. */
  flush(): Promise<void> {
    if (this.buffer.length === 0 || this.queued) return this.chain;
    this.queued = true;
    this.chain = this.chain.then(async () => {
      this.queued = false;
      while (this.buffer.length > 0) await this.apply(this.buffer.splice(0, this.batchSize));
    });
    return this.chain;
  }

  /** True when nothing is buffered or about to be flushed (batches may still be running). */
  get empty(): boolean {
    return this.buffer.length === 0 && !this.scheduled;
  }

  /** Resolves when the batches queued so far are applied. */
  settled(): Promise<void> {
    return this.chain;
  }

  /** Drop what is buffered and not yet taken by a batch. */
  clear(): void {
    this.buffer = [];
  }
}
