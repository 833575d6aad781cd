import {
  NotFoundError,
  TransportUnavailableError,
  UnroutableEventError,
  type ErrorDetails,
} from '@eventfabric/core';
import type { Channel, ChannelModel, GetMessage } from 'amqplib';
import type { ConfirmPublisher } from './confirm-publisher.js';
import { readDeadLetter, redriveHeaders, type QueuedDeadLetter } from './dead-letter-message.js';
import { deadLetterQueueName } from './naming.js';

/** One message of a `.dlq`, held unacked while a session is open. */
export interface HeldDeadLetter {
  entry: QueuedDeadLetter;
  message: GetMessage;
}

/** How one re-driven dead letter ended. */
export interface RedriveOutcome {
  entry: QueuedDeadLetter;
  /** Undefined when the broker confirmed the copy and the dead letter left the `.dlq`. */
  error?: { code: string; message: string };
}

/** The `.dlq` of a work queue, or the `.dlq` itself when named so. */
export function resolveDeadLetterQueue(queue: string): { workQueue: string; dlq: string } {
  if (queue.endsWith('.dlq')) return { workQueue: queue.slice(0, -'.dlq'.length), dlq: queue };
  return { workQueue: queue, dlq: deadLetterQueueName(queue) };
}

/**
 * Exclusive access to one `<queue>.dlq`: every message it holds, read in queue order and held
 * unacked, so nothing is lost when the process dies (the broker takes them back, in their
 * order) and nothing is reordered (returned messages go back where they were). A lock (an
 * exclusive queue `<queue>.dlq.lock`, gone with its connection) keeps a second session out,
 * since two readers returning messages in turn would interleave them.
 */
export class DeadLetterQueueSession {
  private released = false;
  private removed = 0;

  private constructor(
    readonly workQueue: string,
    readonly dlq: string,
    /** Every message, in queue order; copies of one dead letter included. */
    readonly held: readonly HeldDeadLetter[],
    private readonly channel: Channel,
    private readonly lockChannel: Channel,
    private readonly publisher: ConfirmPublisher,
  ) {}

  /**
   * Lock and read `queue`'s `.dlq` (`queue` may also name the `.dlq` itself).
   * @param waitMs how long to wait for another session to end @defaultValue 0
   * @throws NotFoundError when the `.dlq` does not exist (nothing is locked or read)
   * @throws TransportUnavailableError when another session holds it past `waitMs`
   */
  static async open(
    model: ChannelModel,
    queue: string,
    publisher: ConfirmPublisher,
    waitMs = 0,
  ): Promise<DeadLetterQueueSession> {
    const { workQueue, dlq } = resolveDeadLetterQueue(queue);
    await assertQueueExists(model, dlq);
    const lockChannel = await lock(model, dlq, Date.now() + waitMs);
    let channel: Channel | undefined;
    try {
      channel = await model.createChannel();
      channel.on('error', () => undefined);
      const held: HeldDeadLetter[] = [];
      for (;;) {
        const message = await channel.get(dlq, { noAck: false });
        if (message === false) break;
        held.push({ entry: readDeadLetter(message, dlq), message });
      }
      return new DeadLetterQueueSession(workQueue, dlq, held, channel, lockChannel, publisher);
    } catch (error) {
      await channel?.close().catch(() => undefined);
      await unlock(lockChannel, dlq);
      throw error;
    }
  }

  /** The dead letters, one per (handler, event id): a copy dead-lettered again is folded. */
  get entries(): QueuedDeadLetter[] {
    return this.firstOfEach().map((h) => h.entry);
  }

  /** Every held copy of the dead letters with these ids. */
  copiesOf(ids: ReadonlySet<string>): HeldDeadLetter[] {
    const keys = new Set(
      this.held.filter((h) => ids.has(h.entry.id)).map((h) => dedupeKey(h.entry)),
    );
    return this.held.filter((h) => keys.has(dedupeKey(h.entry)));
  }

  /** Remove these messages from the `.dlq` (acked; the broker has them once `release` ends). */
  remove(messages: readonly HeldDeadLetter[]): number {
    for (const h of messages) this.channel.ack(h.message);
    this.removed += messages.length;
    return messages.length;
  }

  /**
   * Publish each dead letter's message to its work queue (the priority level it came from,
   * for a priority group), in queue order, without its
   * dead-letter headers and delivery counts, then remove it and its copies from the `.dlq`,
   * each only once the broker has confirmed its copy. Malformed ones are never re-driven
   * (they would only come back).
   */
  async redrive(entries: readonly QueuedDeadLetter[]): Promise<RedriveOutcome[]> {
    const chosen = entries.filter((e) => e.event !== null);
    const copies = new Map<string, HeldDeadLetter[]>();
    for (const e of chosen) copies.set(e.id, this.copiesOf(new Set([e.id])));
    const messages = chosen.map((e) => {
      const { message } = copies.get(e.id)![0]!;
      const { contentType, type } = message.properties as { contentType?: string; type?: string };
      return {
        exchange: '',
        routingKey: this.redriveTarget(e),
        body: message.content,
        properties: {
          ...(contentType === undefined ? {} : { contentType }),
          ...(type === undefined ? {} : { type }),
          messageId: e.event!.id,
          headers: redriveHeaders(message),
          persistent: true,
          mandatory: true,
        },
      };
    });
    const settled = await this.publisher.publishEach(messages);
    const outcomes = new Map<string, RedriveOutcome>();
    chosen.forEach((entry, i) => {
      const result = settled[i]!;
      if (result.status === 'fulfilled' && result.value === 'confirmed') {
        this.remove(copies.get(entry.id)!);
        outcomes.set(entry.id, { entry });
      } else if (result.status === 'fulfilled') {
        const error = new UnroutableEventError(
          `work queue ${this.workQueue} does not exist; the dead letter stays`,
        );
        outcomes.set(entry.id, { entry, error: { code: error.code, message: error.message } });
      } else {
        const error = result.reason as { code?: string; message?: string };
        outcomes.set(entry.id, {
          entry,
          error: {
            code: error.code ?? 'TRANSPORT_UNAVAILABLE',
            message: error.message ?? String(result.reason),
          },
        });
      }
    });
    return entries.map(
      (entry) =>
        outcomes.get(entry.id) ?? {
          entry,
          error: {
            code: 'INVALID_EVENT',
            message: 'not a CloudEvent: a re-drive would only dead-letter it again',
          },
        },
    );
  }

  /**
   * Give back every message not removed, in its place, and drop the lock. Resolves once the
   * broker has taken the removals (the channel's close follows its acks). Idempotent.
   * @throws TransportUnavailableError when the channel was lost with removals made: the
   *   broker has given those messages back to the `.dlq`
   */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    let lost: unknown;
    await this.channel.close().catch((error: unknown) => (lost = error));
    await unlock(this.lockChannel, this.dlq);
    if (lost !== undefined && this.removed > 0) {
      throw new TransportUnavailableError(
        `the channel to ${this.dlq} was lost: the ${this.removed} dead letters removed are back in it`,
        { retryable: true, queue: this.dlq },
        { cause: lost },
      );
    }
  }

  /**
   * The queue a dead letter goes back to: the one it was delivered from when that is the work
   * queue or one of its priority levels (`<queue>.<level>`), else the work queue.
   */
  private redriveTarget(entry: QueuedDeadLetter): string {
    const { origin } = entry;
    const level = origin.startsWith(`${this.workQueue}.`)
      ? origin.slice(this.workQueue.length + 1)
      : undefined;
    return level !== undefined && /^[a-z0-9][a-z0-9_-]*$/.test(level) && level !== 'dlq'
      ? origin
      : this.workQueue;
  }

  private firstOfEach(): HeldDeadLetter[] {
    const seen = new Set<string>();
    return this.held.filter((h) => {
      const key = dedupeKey(h.entry);
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
  }
}

/** A dead letter is one per (handler, event id); a message that is no event is its own. */
function dedupeKey(entry: QueuedDeadLetter): string {
  return entry.event === null ? `id\u0000${entry.id}` : `${entry.handler}\u0000${entry.event.id}`;
}

/** @throws NotFoundError when `queue` does not exist */
export async function assertQueueExists(model: ChannelModel, queue: string): Promise<void> {
  const channel = await model.createChannel();
  channel.on('error', () => undefined);
  try {
    await channel.checkQueue(queue);
  } catch (error) {
    if (/NOT[-_]FOUND|404/.test((error as Error).message)) {
      throw new NotFoundError(`queue ${queue} does not exist`, { resource: 'queue', queue });
    }
    throw error;
  } finally {
    await channel.close().catch(() => undefined);
  }
}

/**
 * Take the `.dlq`'s lock: an exclusive queue, which a second connection cannot declare
 * (RESOURCE_LOCKED, and the channel closes). Tries again every 50 ms until `deadline`.
 */
async function lock(model: ChannelModel, dlq: string, deadline: number): Promise<Channel> {
  for (;;) {
    const channel = await model.createChannel();
    channel.on('error', () => undefined);
    try {
      await channel.assertQueue(`${dlq}.lock`, {
        exclusive: true,
        durable: false,
        autoDelete: true,
      });
      return channel;
    } catch (error) {
      await channel.close().catch(() => undefined);
      if (Date.now() >= deadline || !/RESOURCE[-_]LOCKED|405/.test((error as Error).message)) {
        throw busy(dlq, error);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

async function unlock(lockChannel: Channel, dlq: string): Promise<void> {
  await lockChannel.deleteQueue(`${dlq}.lock`).catch(() => undefined);
  await lockChannel.close().catch(() => undefined);
}

function busy(dlq: string, cause: unknown): TransportUnavailableError {
  const details: ErrorDetails = { retryable: true, queue: dlq };
  return new TransportUnavailableError(
    /RESOURCE[-_]LOCKED|405/.test((cause as Error).message ?? '')
      ? `another dlq operation holds ${dlq}; try again when it ends`
      : `cannot lock ${dlq}: ${(cause as Error).message}`,
    details,
    { cause },
  );
}
