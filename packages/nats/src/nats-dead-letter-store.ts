import {
  assertGroupName,
  DeadLetterNotFoundError,
  InvalidArgumentError,
  StoreClosedError,
  matchesDeadLetter,
  stampDeadLetter,
  type CloudEvent,
  type DeadLetter,
  type DeadLetterFilter,
  type DeadLetterStore,
  type FailureNote,
} from '@eventfabric/core';
import type { JsMsg } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { decodeEvent } from './cloudevents-nats.js';
import { dlqSubject, serverName } from './naming.js';
import type { NatsTransport } from './nats-transport.js';
import { assertUsable } from './store-guard.js';
import { declareDeadLetters, planDeadLetters } from './topology.js';

const ADVISORY = '$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.';
const encoder = new TextEncoder();

/** A dead letter and where it is kept. */
interface Located {
  entry: DeadLetter;
  stream: string;
  seq: number;
}

/** The max-deliveries advisory JetStream sends, as the `<group>.dlq` stream keeps it. */
interface MaxDeliveriesAdvisory {
  timestamp: string;
  stream: string;
  consumer: string;
  stream_seq: number;
  deliveries: number;
}

/**
 * A {@link DeadLetterStore} on the `<group>.dlq` streams the NATS transport declares.
 *
 * Two kinds of entries live there: dead letters the consumer framework writes (the whole
 * event with its error, attempts and failure times), and the max-deliveries advisories the
 * server itself sends when a consumer's `max_deliver` runs out (a process that kept dying
 * on an event). Both are listed as dead letters; an advisory's event is read back from its
 * stream by sequence, and it is reported with reason `poison`.
 *
 * Failure notes (first failure time, count) live in a KV bucket with a TTL.
 */
export class NatsDeadLetterStore implements DeadLetterStore {
  private constructor(
    private readonly transport: NatsTransport,
    private readonly failures: KV,
    private readonly index: KV,
  ) {}

  /** Open the store on a transport's connection; creates its failure-notes bucket. */
  static async open(transport: NatsTransport): Promise<NatsDeadLetterStore> {
    assertUsable(transport);
    const { namePrefix, stream } = transport.options;
    const failures = await new Kvm(transport.nc).create(`${namePrefix}eventfabric_failures`, {
      history: 1,
      ttl: 7 * 86_400_000,
      storage: stream.storage === 'file' ? ('file' as never) : ('memory' as never),
      replicas: stream.replicas,
    });
    // (group, event id) → dead letter id: one dead letter per event and group at a time, so a
    // member that dies between writing a dead letter and acking its delivery does not write
    // a second one when the event comes back.
    const index = await new Kvm(transport.nc).create(`${namePrefix}eventfabric_dlq_index`, {
      history: 1,
      storage: stream.storage === 'file' ? ('file' as never) : ('memory' as never),
      replicas: stream.replicas,
    });
    return new NatsDeadLetterStore(transport, failures, index);
  }

  async add(entry: Omit<DeadLetter, 'id' | 'deadLetteredAt'>): Promise<DeadLetter> {
    this.assertOpen();
    if (typeof entry !== 'object' || entry === null) {
      throw new InvalidArgumentError('a dead letter must be an object');
    }
    assertGroupName(entry.group);
    if (typeof entry.event?.id !== 'string' || entry.event.id.length === 0) {
      throw new InvalidArgumentError('a dead letter needs the event it failed on', {
        group: entry.group,
      });
    }
    let stamped = stampDeadLetter(entry);
    const { jsm, js, options } = this.transport;
    const key = noteKey(entry.group, entry.event.id);
    try {
      await this.index.create(key, stamped.id);
    } catch (error) {
      if (!/wrong last sequence|key exists/i.test((error as Error).message)) throw error;
      const earlier = (await this.index.get(key))?.string() ?? stamped.id;
      const kept = (await this.located()).find((l) => l.entry.id === earlier);
      if (kept) return kept.entry;
      // Indexed, but the write never happened (the writer died in between): write it now.
      stamped = { ...stamped, id: earlier };
    }
    await declareDeadLetters(jsm, planDeadLetters(options, entry.group, []));
    await js.publish(
      dlqSubject(options.subjectPrefix, entry.group),
      encoder.encode(JSON.stringify(stamped)),
      { msgID: stamped.id },
    );
    return stamped;
  }

  async list(filter: DeadLetterFilter = {}): Promise<DeadLetter[]> {
    this.assertOpen();
    const limit = filter.limit ?? 1000;
    return (await this.located())
      .map((l) => l.entry)
      .filter((entry) => matchesDeadLetter(entry, filter))
      .slice(0, limit);
  }

  async get(id: string): Promise<DeadLetter> {
    this.assertOpen();
    const found = (await this.located()).find((l) => l.entry.id === id);
    if (!found) throw new DeadLetterNotFoundError(id);
    return found.entry;
  }

  async remove(ids: readonly string[]): Promise<number> {
    this.assertOpen();
    const wanted = new Set(ids);
    let removed = 0;
    for (const { entry, stream, seq } of await this.located()) {
      if (!wanted.has(entry.id)) continue;
      if (await this.transport.jsm.streams.deleteMessage(stream, seq, false)) removed++;
      await this.index.purge(noteKey(entry.group, entry.event.id));
    }
    return removed;
  }

  async count(filter: Omit<DeadLetterFilter, 'limit' | 'ids'> = {}): Promise<number> {
    this.assertOpen();
    return (await this.located()).filter((l) => matchesDeadLetter(l.entry, filter)).length;
  }

  async noteFailure(handler: string, eventId: string, at: Date): Promise<FailureNote> {
    this.assertOpen();
    const key = noteKey(handler, eventId);
    for (;;) {
      const current = await this.failures.get(key);
      const note: FailureNote =
        current && current.operation === 'PUT'
          ? (JSON.parse(current.string()) as FailureNote)
          : { firstFailedAt: at.toISOString(), failures: 0 };
      note.failures++;
      try {
        // Compare-and-set on the revision: two members noting at once both count.
        if (current && current.operation === 'PUT') {
          await this.failures.update(key, JSON.stringify(note), current.revision);
        } else {
          await this.failures.create(key, JSON.stringify(note));
        }
        return note;
      } catch (error) {
        if (!/wrong last sequence|key exists/i.test((error as Error).message)) throw error;
      }
    }
  }

  async clearFailures(handler: string, eventId: string): Promise<void> {
    this.assertOpen();
    await this.failures.purge(noteKey(handler, eventId));
  }

  private assertOpen(): void {
    if (this.transport.isClosed()) throw new StoreClosedError();
  }

  /** Every dead letter of this installation, in the order it was dead-lettered. */
  private async located(): Promise<Located[]> {
    const { jsm, options } = this.transport;
    const found: Located[] = [];
    for await (const info of jsm.streams.list()) {
      const label = /^eventfabric (\S+)\.dlq$/.exec(info.config.description ?? '')?.[1];
      if (!label || info.config.name !== options.namePrefix + serverName(`${label}.dlq`)) continue;
      if (info.state.messages === 0) continue;
      for (const message of await this.read(info.config.name, info.state.last_seq)) {
        const entry = message.subject.startsWith(ADVISORY)
          ? await this.fromAdvisory(
              label,
              message.json<MaxDeliveriesAdvisory>(),
              info.config.name,
              message.seq,
            )
          : (message.json<DeadLetter>() satisfies DeadLetter);
        if (entry) found.push({ entry, stream: info.config.name, seq: message.seq });
      }
    }
    return found.sort((a, b) => (a.entry.id < b.entry.id ? -1 : a.entry.id > b.entry.id ? 1 : 0));
  }

  /** Every message of a dead-letter stream up to `lastSeq`, through an ordered consumer. */
  private async read(stream: string, lastSeq: number): Promise<JsMsg[]> {
    const consumer = await this.transport.js.consumers.get(stream);
    const messages: JsMsg[] = [];
    for (;;) {
      const before = messages.length;
      for await (const message of await consumer.fetch({ max_messages: 1000, expires: 2000 })) {
        messages.push(message);
        if (message.seq >= lastSeq) break;
      }
      const last = messages[messages.length - 1];
      if (messages.length === before || (last !== undefined && last.seq >= lastSeq)) break;
    }
    await consumer.delete().catch(() => undefined);
    return messages;
  }

  /** A dead letter for an event the server gave up on; undefined once the event aged out. */
  private async fromAdvisory(
    group: string,
    advisory: MaxDeliveriesAdvisory,
    dlqStream: string,
    seq: number,
  ): Promise<DeadLetter | undefined> {
    const message = await this.transport.jsm.streams.getMessage(advisory.stream, {
      seq: advisory.stream_seq,
    });
    if (!message) return undefined;
    let event: CloudEvent;
    try {
      event = decodeEvent(message.data, message.header);
    } catch {
      return undefined;
    }
    const at = new Date(advisory.timestamp).toISOString();
    return {
      id: advisoryId(Date.parse(advisory.timestamp), dlqStream, seq),
      handler: group.slice(group.indexOf('.') + 1),
      group,
      origin: advisory.stream
        .slice(this.transport.options.namePrefix.length)
        .replace(/_events$/, '.events'),
      reason: 'poison',
      event,
      error: {
        code: 'MAX_DELIVERIES',
        message: `JetStream stopped delivering event ${event.id} after ${advisory.deliveries} deliveries (max_deliver)`,
        details: {
          stream: advisory.stream,
          consumer: advisory.consumer,
          streamSequence: advisory.stream_seq,
          deliveries: advisory.deliveries,
        },
      },
      attempts: advisory.deliveries,
      firstFailedAt: at,
      lastFailedAt: at,
      deadLetteredAt: at,
    };
  }
}

/** Open a {@link NatsDeadLetterStore} on a NATS transport's connection. */
export function createNatsDeadLetterStore(transport: NatsTransport): Promise<NatsDeadLetterStore> {
  return NatsDeadLetterStore.open(transport);
}

/** KV keys allow `[-/_=.a-zA-Z0-9]`: base64url of (handler, event id) fits any id. */
function noteKey(handler: string, eventId: string): string {
  return Buffer.from(`${handler}\u0000${eventId}`).toString('base64url');
}

/**
 * A UUIDv7-shaped id for an advisory entry: its time first, so it sorts among the
 * framework's dead letters by when it happened; stable across reads (stream and sequence).
 */
function advisoryId(ms: number, stream: string, seq: number): string {
  const time = ms.toString(16).padStart(12, '0');
  let hash = 0x811c9dc5;
  for (const byte of encoder.encode(stream)) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  const tail = hash.toString(16).padStart(8, '0') + (seq % 2 ** 40).toString(16).padStart(10, '0');
  return `${time.slice(0, 8)}-${time.slice(8)}-7${tail.slice(0, 3)}-8${tail.slice(3, 6)}-${tail.slice(6)}`;
}
