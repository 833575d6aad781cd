import type { Pool } from 'pg';

/**
 * The notification's transaction writes no data, so its commit need not wait for a WAL
 * flush (`synchronous_commit` off for this transaction only): it holds the database-wide
 * NOTIFY lock only briefly, and a crash can lose nothing but the wake-up.
 */
const NOTIFY_SQL = "SELECT set_config('synchronous_commit', 'off', true), pg_notify($1, '')";

/** At most one NOTIFY per this many milliseconds, per notifier. */
export const DEFAULT_NOTIFY_INTERVAL_MS = 5;

/**
 * Sends `NOTIFY <channel>` after commits, from the process, for listeners in other
 * processes (the caller wakes its own process's listeners directly).
 *
 * Each notification is its own autocommit `SELECT pg_notify(…)` on the pool. A commit that
 * carries a NOTIFY takes a database-wide lock through its WAL flush, so writers' commits
 * carrying one could not share flushes (group commit); this keeps that off their commits.
 *
 * Throttled, leading and trailing edge: a call after a quiet spell notifies at once; calls
 * within `intervalMs` of the last notification, or while one is in flight, are folded into
 * one more notification sent when the interval has passed. So every call is followed by a
 * notification that starts after the call (no wake-up is lost), a busy writer sends at most
 * `1000 / intervalMs` a second, and a burst of commits costs one or two. The price is up to
 * `intervalMs` of extra wake-up latency for other processes, under load only.
 *
 * Fire-and-forget: a failed notification is ignored, listeners also wake on a safety tick.
 */
export class AppendNotifier {
  private inFlight: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private pending = false;
  private lastSentAt = -Infinity;
  private closed = false;

  constructor(
    private readonly pool: Pick<Pool, 'query'>,
    private readonly channel: string,
    private readonly intervalMs = DEFAULT_NOTIFY_INTERVAL_MS,
  ) {}

  /** Call after a commit that listeners should hear of. Never throws, never waits. */
  notify(): void {
    if (this.closed) return;
    this.pending = true;
    this.schedule();
  }

  /**
   * Stop sending. A notification still owed is sent now, so the last commits are heard;
   * resolves once it has settled.
   */
  async close(): Promise<void> {
    if (this.closed) return this.inFlight;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.inFlight;
    if (this.pending) await this.send();
  }

  private schedule(): void {
    if (this.inFlight || this.timer || !this.pending) return;
    const wait = this.lastSentAt + this.intervalMs - performance.now();
    if (wait <= 0) {
      this.inFlight = this.send().finally(() => {
        this.inFlight = undefined;
        if (!this.closed) this.schedule();
      });
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.schedule();
    }, wait);
  }

  private async send(): Promise<void> {
    this.pending = false;
    this.lastSentAt = performance.now();
    try {
      await this.pool.query(NOTIFY_SQL, [this.channel]);
    } catch {
      // Ignored: listeners catch up at their safety tick.
    }
  }
}
