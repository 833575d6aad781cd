import {
  DeadLetterNotFoundError,
  InvalidArgumentError,
  assertGroupName,
  matchesDeadLetter,
  stampDeadLetter,
  type DeadLetter,
  type DeadLetterFilter,
  type DeadLetterStore,
  type FailureNote,
} from '@eventfabric/core';
import { isStoreDeadLetter } from './dead-letter-message.js';
import type { DeadLetterQueueSession } from './dead-letter-queue.js';
import type { RabbitMqTransport } from './rabbitmq-transport.js';

/** Options for {@link createRabbitMqDeadLetterStore}. */
export interface RabbitMqDeadLetterStoreOptions {
  /** The transport whose connection and confirm channel the store uses. */
  transport: RabbitMqTransport;
  /**
   * The groups whose `<group>.dlq` `list`, `get`, `remove` and `count` read (AMQP cannot list
   * queues). Groups the store adds dead letters for join them.
   * @defaultValue []
   */
  groups?: readonly string[];
  /**
   * Failure notes kept in memory (first failure time per handler and event); the oldest go
   * past this.
   * @defaultValue 10 000
   */
  maxFailureNotes?: number;
  /**
   * How long a read waits while another reader (the CLI, another store) holds a `.dlq`.
   * @defaultValue 10 000
   */
  lockWaitMs?: number;
}

/**
 * A {@link DeadLetterStore} in RabbitMQ: each group's dead letters are messages of its
 * `<group>.dlq` (the event as body, the context in headers), where `eventfabric dlq …
 * --transport amqp://` finds them.
 *
 * - `add` resolves once the broker confirms. A queue cannot refuse a duplicate, so a dead
 *   letter of (handler, event id) sent again (a redelivery after a lost ack) is folded when
 *   read: readers see one dead letter, the first, and `remove` takes every copy.
 * - Reads take each `.dlq`'s lock and read it whole, so they cost one pass over the queue;
 *   they give every message back in its place.
 * - Failure notes live in this process only: after a restart, a dead letter's first failure
 *   is the first one this process saw.
 */
export class RabbitMqDeadLetterStore implements DeadLetterStore {
  private readonly transport: RabbitMqTransport;
  private readonly groups: Set<string>;
  private readonly notes = new Map<string, FailureNote>();
  private readonly maxNotes: number;
  private readonly lockWaitMs: number;

  constructor(options: RabbitMqDeadLetterStoreOptions) {
    if (typeof options !== 'object' || options === null || options.transport === undefined) {
      throw new InvalidArgumentError('a RabbitMQ dead-letter store needs its transport');
    }
    for (const group of options.groups ?? []) assertGroupName(group);
    this.transport = options.transport;
    this.groups = new Set(options.groups ?? []);
    this.maxNotes = options.maxFailureNotes ?? 10_000;
    this.lockWaitMs = options.lockWaitMs ?? 10_000;
  }

  async add(entry: Omit<DeadLetter, 'id' | 'deadLetteredAt'>): Promise<DeadLetter> {
    const stamped = stampDeadLetter(entry);
    await this.transport.sendToDeadLetterQueue(stamped);
    this.groups.add(entry.group);
    return structuredClone(stamped);
  }

  async list(filter: DeadLetterFilter = {}): Promise<DeadLetter[]> {
    const limit = filter.limit ?? 1000;
    const all = await this.read((session) =>
      session.entries.filter(isStoreDeadLetter).map(({ queue: _q, body: _b, ...entry }) => entry),
    );
    return all.filter((e) => matchesDeadLetter(e, filter)).slice(0, limit);
  }

  async get(id: string): Promise<DeadLetter> {
    const [entry] = await this.list({ ids: [id], limit: 1 });
    if (!entry) throw new DeadLetterNotFoundError(id);
    return entry;
  }

  async remove(ids: readonly string[]): Promise<number> {
    const wanted = new Set(ids);
    let removed = 0;
    await this.read((session) => {
      const named = session.entries.filter((e) => wanted.has(e.id));
      session.remove(session.copiesOf(new Set(named.map((e) => e.id))));
      removed += named.length;
      return [];
    });
    return removed;
  }

  async count(filter: Omit<DeadLetterFilter, 'limit' | 'ids'> = {}): Promise<number> {
    return (await this.list({ ...filter, limit: Number.MAX_SAFE_INTEGER })).length;
  }

  async noteFailure(handler: string, eventId: string, at: Date): Promise<FailureNote> {
    const key = keyOf(handler, eventId);
    const note = this.notes.get(key) ?? { firstFailedAt: at.toISOString(), failures: 0 };
    note.failures++;
    this.notes.delete(key);
    this.notes.set(key, note);
    if (this.notes.size > this.maxNotes) this.notes.delete(this.notes.keys().next().value!);
    return { ...note };
  }

  async clearFailures(handler: string, eventId: string): Promise<void> {
    this.notes.delete(keyOf(handler, eventId));
  }

  /** Open every known group's `.dlq` in turn, collect what `work` returns, release each. */
  private async read<T extends { id: string }>(
    work: (session: DeadLetterQueueSession) => T[],
  ): Promise<T[]> {
    const queues: T[][] = [];
    for (const group of this.groups) {
      const session = await this.transport.openDeadLetterQueue(group, {
        waitMs: this.lockWaitMs,
      });
      try {
        queues.push(work(session));
      } finally {
        await session.release();
      }
    }
    return mergeById(queues);
  }
}

function keyOf(handler: string, eventId: string): string {
  return `${handler}\u0000${eventId}`;
}

/**
 * Each queue is in the order its dead letters were added; across queues, ids (UUIDv7) tell
 * that order. Merge, never reordering within a queue.
 */
export function mergeById<T extends { id: string }>(queues: readonly T[][]): T[] {
  const heads = queues.map(() => 0);
  const out: T[] = [];
  for (;;) {
    let best = -1;
    queues.forEach((queue, q) => {
      const head = queue[heads[q]!];
      if (head !== undefined && (best === -1 || head.id < queues[best]![heads[best]!]!.id)) {
        best = q;
      }
    });
    if (best === -1) return out;
    out.push(queues[best]![heads[best]!++]!);
  }
}

/** A dead-letter store over the transport's `.dlq` queues. */
export function createRabbitMqDeadLetterStore(
  options: RabbitMqDeadLetterStoreOptions,
): RabbitMqDeadLetterStore {
  return new RabbitMqDeadLetterStore(options);
}
