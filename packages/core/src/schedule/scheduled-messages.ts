import type { CloudEvent } from '../envelope/index.js';

/** An event waiting for its time. */
export interface ScheduledMessage {
  /** The event's id: scheduling the same event twice keeps one. */
  id: string;
  /** When it is due, in ms since the epoch. */
  dueAt: number;
  event: CloudEvent;
  /** Times a scheduler claimed it (a claim that did not end in `complete` is tried again). */
  attempts: number;
}

/**
 * Durable storage of scheduled events.
 *
 * Implementations must guarantee:
 * - **Durable.** A scheduled event survives a crash until `complete` removes it.
 * - **Exclusive claims.** `claimDue` hands a due event to one claimer at a time; its claim
 *   lasts `leaseMs`, after which another claimer may take it (the first one died).
 * - **Due order.** Claims return the earliest due first.
 */
export interface ScheduledMessageStore {
  /** Store `event` for `dueAt`; an event already scheduled (same id) is left as it is. */
  schedule(event: CloudEvent, dueAt: number): Promise<void>;
  /** Remove a scheduled event that is not yet claimed; false when there was none to remove. */
  cancel(id: string): Promise<boolean>;
  /** Claim up to `limit` events due at `now`, earliest first, for `owner` for `leaseMs`. */
  claimDue(now: number, limit: number, owner: string, leaseMs: number): Promise<ScheduledMessage[]>;
  /** The claimed event was delivered: remove it. */
  complete(id: string, owner: string): Promise<void>;
  /** The earliest due time of an unclaimed (or expired) event, or undefined when none waits. */
  nextDue(): Promise<number | undefined>;
  /** Every scheduled event, earliest first, for inspection. */
  list(limit: number): Promise<ScheduledMessage[]>;
}

/** {@link ScheduledMessageStore} in memory: for tests and single-process use. */
export class InMemoryScheduledMessages implements ScheduledMessageStore {
  private readonly rows = new Map<
    string,
    ScheduledMessage & { owner: string | undefined; lockedUntil: number }
  >();

  schedule(event: CloudEvent, dueAt: number): Promise<void> {
    if (!this.rows.has(event.id)) {
      this.rows.set(event.id, {
        id: event.id,
        dueAt,
        event,
        attempts: 0,
        owner: undefined,
        lockedUntil: 0,
      });
    }
    return Promise.resolve();
  }

  cancel(id: string): Promise<boolean> {
    const row = this.rows.get(id);
    if (!row || row.lockedUntil > Date.now()) return Promise.resolve(false);
    this.rows.delete(id);
    return Promise.resolve(true);
  }

  claimDue(
    now: number,
    limit: number,
    owner: string,
    leaseMs: number,
  ): Promise<ScheduledMessage[]> {
    const due = [...this.rows.values()]
      .filter((r) => r.dueAt <= now && r.lockedUntil <= now)
      .sort((a, b) => a.dueAt - b.dueAt || a.id.localeCompare(b.id))
      .slice(0, limit);
    for (const row of due) {
      row.owner = owner;
      row.lockedUntil = now + leaseMs;
      row.attempts++;
    }
    return Promise.resolve(
      due.map(({ id, dueAt, event, attempts }) => ({ id, dueAt, event, attempts })),
    );
  }

  complete(id: string, owner: string): Promise<void> {
    if (this.rows.get(id)?.owner === owner) this.rows.delete(id);
    return Promise.resolve();
  }

  nextDue(): Promise<number | undefined> {
    const now = Date.now();
    let next: number | undefined;
    for (const row of this.rows.values()) {
      const at = Math.max(row.dueAt, row.lockedUntil > now ? row.lockedUntil : 0);
      if (next === undefined || at < next) next = at;
    }
    return Promise.resolve(next);
  }

  list(limit: number): Promise<ScheduledMessage[]> {
    return Promise.resolve(
      [...this.rows.values()]
        .sort((a, b) => a.dueAt - b.dueAt)
        .slice(0, limit)
        .map(({ id, dueAt, event, attempts }) => ({ id, dueAt, event, attempts })),
    );
  }
}
