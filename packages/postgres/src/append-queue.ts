import type { AppendResult } from '@eventfabric/core';
import type { StreamAppend } from './sql/append-streams.js';

/** What one append of a combined statement came to. */
export type AppendOutcome = { ok: true; result: AppendResult } | { ok: false; error: unknown };

/** How the queue writes: one append alone, or several (distinct streams) in one statement. */
export interface AppendWriter {
  one(append: StreamAppend): Promise<AppendResult>;
  /** One outcome per append, in order. Rejects only when none of them can be settled. */
  many(appends: readonly StreamAppend[]): Promise<AppendOutcome[]>;
}

interface Queued extends StreamAppend {
  resolve(result: AppendResult): void;
  reject(error: unknown): void;
}

/**
 * Group commit for concurrent appends. At most `slots` append statements run at once; an
 * append arriving while a slot is free goes at once, alone. Appends arriving while every
 * slot is busy wait, and the next free slot takes them together, as one statement with one
 * commit: under load, throughput grows with the batch instead of paying a round trip and a
 * commit per append, and an idle store adds no latency.
 *
 * Appends to one stream run one at a time, in call order: the next waits until the one in
 * flight has committed, so concurrent appends to a stream never race for its version.
 */
export class AppendQueue {
  private waiting: Queued[] = [];
  private readonly busyStreams = new Set<string>();
  private running = 0;
  private idle: (() => void) | undefined;

  constructor(
    private readonly writer: AppendWriter,
    private readonly slots: number,
    /** A combined statement stops adding appends past this many events. */
    private readonly maxEvents: number,
  ) {}

  append(append: StreamAppend): Promise<AppendResult> {
    return new Promise<AppendResult>((resolve, reject) => {
      this.waiting.push({ ...append, resolve, reject });
      this.pump();
    });
  }

  /** Resolves once every append queued so far has settled. */
  async drain(): Promise<void> {
    while (this.running > 0 || this.waiting.length > 0) {
      await new Promise<void>((resolve) => (this.idle = resolve));
    }
  }

  private pump(): void {
    while (this.running < this.slots && this.waiting.length > 0) {
      const batch = this.take();
      if (batch.length === 0) return; // everything waiting is behind a stream in flight
      this.running++;
      for (const append of batch) this.busyStreams.add(append.streamId);
      void this.dispatch(batch).finally(() => {
        this.running--;
        for (const append of batch) this.busyStreams.delete(append.streamId);
        this.pump();
        if (this.running === 0 && this.waiting.length === 0) this.idle?.();
      });
    }
  }

  /** The oldest waiting appends, one per stream, none on a stream in flight. */
  private take(): Queued[] {
    const batch: Queued[] = [];
    const rest: Queued[] = [];
    const taken = new Set<string>();
    let events = 0;
    for (const append of this.waiting) {
      const free = !this.busyStreams.has(append.streamId) && !taken.has(append.streamId);
      const fits = batch.length === 0 || events + append.prepared.length <= this.maxEvents;
      if (free && fits) {
        batch.push(append);
        taken.add(append.streamId);
        events += append.prepared.length;
      } else {
        // A stream's later appends stay behind its earlier one: call order is kept.
        taken.add(append.streamId);
        rest.push(append);
      }
    }
    this.waiting = rest;
    return batch;
  }

  private async dispatch(batch: Queued[]): Promise<void> {
    if (batch.length === 1) {
      const [append] = batch as [Queued];
      await this.writer.one(append).then(append.resolve, append.reject);
      return;
    }
    let outcomes: AppendOutcome[];
    try {
      outcomes = await this.writer.many(batch);
    } catch (error) {
      for (const append of batch) append.reject(error);
      return;
    }
    batch.forEach((append, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) append.resolve(outcome.result);
      else append.reject(outcome.error);
    });
  }
}
