/**
 * Runs a member's writes one after another, so its in-memory state changes in commit order.
 * A coalesced kind of write (a checkpoint save, a lease refresh) queued and not yet started
 * is shared by later callers: it will see their changes when it runs.
 */
export class WriteQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private readonly queued = new Map<string, Promise<void>>();

  run<T>(work: () => Promise<T>): Promise<T> {
    const result = this.tail.then(work);
    this.tail = result.catch(() => undefined);
    return result;
  }

  coalesce(kind: string, work: () => Promise<void>): Promise<void> {
    let pending = this.queued.get(kind);
    if (!pending) {
      pending = this.run(async () => {
        this.queued.delete(kind);
        await work();
      });
      this.queued.set(kind, pending);
    }
    return pending;
  }
}
