import type { Pool } from 'pg';

/**
 * Sends `NOTIFY <channel>` after commits, from the process, coalesced: at most one
 * notification is in flight; calls made while one is in flight set a flag, and exactly one
 * more is sent once it completes. So every call is followed by a notification that starts
 * after the call (no wake-up is lost), and a burst of commits costs one or two.
 *
 * Each notification is its own autocommit `SELECT pg_notify(…)` on the pool. A commit that
 * carries a NOTIFY takes a database-wide lock through its WAL flush, so writers' commits
 * carrying one could not share flushes (group commit); this keeps that off their commits.
 * Fire-and-forget: a failed notification is ignored, listeners also wake on a safety tick.
 */
/**
 * The notification's transaction writes no data, so its commit need not wait for a WAL
 * flush (`synchronous_commit` off for this transaction only): it holds the database-wide
 * NOTIFY lock only briefly, and a crash can lose nothing but the wake-up.
 */
const NOTIFY_SQL = "SELECT set_config('synchronous_commit', 'off', true), pg_notify($1, '')";

export class AppendNotifier {
  private inFlight: Promise<void> | undefined;
  private again = false;
  private closed = false;

  constructor(
    private readonly pool: Pick<Pool, 'query'>,
    private readonly channel: string,
  ) {}

  /** Call after a commit that listeners should hear of. Never throws, never waits. */
  notify(): void {
    if (this.closed) return;
    if (this.inFlight) {
      this.again = true;
      return;
    }
    this.inFlight = this.send();
  }

  /** Stop sending; resolves once the notification in flight, if any, has settled. */
  async close(): Promise<void> {
    this.closed = true;
    await this.inFlight;
  }

  private async send(): Promise<void> {
    do {
      this.again = false;
      try {
        await this.pool.query(NOTIFY_SQL, [this.channel]);
      } catch {
        // Ignored: listeners catch up at their safety tick.
      }
    } while (this.again && !this.closed);
    this.inFlight = undefined;
  }
}
