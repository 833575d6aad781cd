import { v7 as uuidv7 } from 'uuid';
import { DeadLetterNotFoundError } from '../errors/index.js';
import type { CloudEvent } from '../envelope/index.js';

/** Why an event ended in the dead letters. */
export type DeadLetterReason = 'exhausted' | 'non_retryable' | 'poison';

/** The error that sent an event to the dead letters. */
export interface DeadLetterError {
  code: string;
  message: string;
  stack?: string;
  details?: Record<string, unknown>;
}

/** A dead letter: the whole original event and everything needed to act on it. */
export interface DeadLetter {
  /** UUIDv7: ids sort in the order events were dead-lettered. */
  id: string;
  handler: string;
  group: string;
  /** The queue, stream or log the event was delivered from. */
  origin: string;
  reason: DeadLetterReason;
  event: CloudEvent;
  error: DeadLetterError;
  /** Deliveries made, crashes included. */
  attempts: number;
  firstFailedAt: string;
  lastFailedAt: string;
  deadLetteredAt: string;
}

/** A filter on dead letters; fields are AND-ed. */
export interface DeadLetterFilter {
  handler?: string;
  type?: string;
  reason?: DeadLetterReason;
  ids?: readonly string[];
  /** @defaultValue 1000 */
  limit?: number;
}

/** What {@link DeadLetterStore.noteFailure} remembers between attempts. */
export interface FailureNote {
  firstFailedAt: string;
  failures: number;
}

/**
 * Where dead letters are kept.
 *
 * Implementations must guarantee:
 * - `add` is durable before it resolves: the consumer acks the delivery right after.
 * - `list` returns entries in the order they were added (ids are UUIDv7), which is the
 *   order a re-drive replays them in.
 * - `remove` of an unknown id is a no-op; `get` of one throws DEAD_LETTER_NOT_FOUND.
 * - `add` is idempotent on (handler, event id): a redelivered event that fails for good again
 *   (its first ack was lost) keeps one dead letter, the first; `add` then resolves with it.
 *   A store that cannot refuse a duplicate (a queue) folds copies when read, and `remove`
 *   takes every copy.
 */
export interface DeadLetterStore {
  add(entry: Omit<DeadLetter, 'id' | 'deadLetteredAt'>): Promise<DeadLetter>;
  list(filter?: DeadLetterFilter): Promise<DeadLetter[]>;
  get(id: string): Promise<DeadLetter>;
  remove(ids: readonly string[]): Promise<number>;
  /** Count entries matching a filter (the DLQ depth metric). */
  count(filter?: Omit<DeadLetterFilter, 'limit' | 'ids'>): Promise<number>;
  /**
   * Remember a failed attempt of (handler, event id), and when the first one happened, so a
   * dead letter can report its first failure time after many redeliveries.
   */
  noteFailure(handler: string, eventId: string, at: Date): Promise<FailureNote>;
  /** Forget the failures of (handler, event id) once it is handled or dead-lettered. */
  clearFailures(handler: string, eventId: string): Promise<void>;
}

/** True when the dead letter passes the filter. */
export function matchesDeadLetter(entry: DeadLetter, filter: DeadLetterFilter): boolean {
  return (
    (filter.handler === undefined || entry.handler === filter.handler) &&
    (filter.type === undefined || entry.event.type === filter.type) &&
    (filter.reason === undefined || entry.reason === filter.reason) &&
    (filter.ids === undefined || filter.ids.includes(entry.id))
  );
}

/** New id and timestamp for a dead letter. */
export function stampDeadLetter(entry: Omit<DeadLetter, 'id' | 'deadLetteredAt'>): DeadLetter {
  // A copied dead letter carries an id and a time of its own: they never override the new ones.
  const { id: _id, deadLetteredAt: _at, ...fields } = entry as DeadLetter;
  return { id: uuidv7(), ...fields, deadLetteredAt: new Date().toISOString() };
}

/** The reference {@link DeadLetterStore}, in memory. */
export class InMemoryDeadLetterStore implements DeadLetterStore {
  private readonly entries = new Map<string, DeadLetter>();
  private readonly failures = new Map<string, FailureNote>();

  async add(entry: Omit<DeadLetter, 'id' | 'deadLetteredAt'>): Promise<DeadLetter> {
    for (const kept of this.entries.values()) {
      if (kept.handler === entry.handler && kept.event.id === entry.event.id) {
        return structuredClone(kept);
      }
    }
    const stamped = stampDeadLetter(entry);
    this.entries.set(stamped.id, structuredClone(stamped));
    return stamped;
  }

  async list(filter: DeadLetterFilter = {}): Promise<DeadLetter[]> {
    const limit = filter.limit ?? 1000;
    return [...this.entries.values()]
      .filter((e) => matchesDeadLetter(e, filter))
      .slice(0, limit)
      .map((e) => structuredClone(e));
  }

  async get(id: string): Promise<DeadLetter> {
    const entry = this.entries.get(id);
    if (!entry) throw new DeadLetterNotFoundError(id);
    return structuredClone(entry);
  }

  async remove(ids: readonly string[]): Promise<number> {
    return ids.filter((id) => this.entries.delete(id)).length;
  }

  async count(filter: Omit<DeadLetterFilter, 'limit' | 'ids'> = {}): Promise<number> {
    return [...this.entries.values()].filter((e) => matchesDeadLetter(e, filter)).length;
  }

  async noteFailure(handler: string, eventId: string, at: Date): Promise<FailureNote> {
    const key = `${handler}\u0000${eventId}`;
    const note = this.failures.get(key) ?? { firstFailedAt: at.toISOString(), failures: 0 };
    note.failures++;
    this.failures.set(key, note);
    return { ...note };
  }

  async clearFailures(handler: string, eventId: string): Promise<void> {
    this.failures.delete(`${handler}\u0000${eventId}`);
  }
}
