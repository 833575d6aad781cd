import {
  EventTooLargeError,
  InvalidArgumentError,
  normalizeEvent,
  TransportUnavailableError,
  type CloudEvent,
  type PublishResult,
} from '@eventfabric/core';
import { JetStreamApiError, type JetStreamClient, type PubAck } from '@nats-io/jetstream';
import { errors as natsErrors } from '@nats-io/transport-node';
import { encodeEvent, type EncodedEvent } from './cloudevents-nats.js';
import { contextOf, eventSubject, partitionOf } from './naming.js';
import type { ResolvedNatsOptions } from './nats-options.js';

/** One event, checked and serialised, ready to send. */
interface Outgoing {
  id: string;
  context: string;
  subject: string;
  encoded: EncodedEvent;
}

/** What the publisher needs from its transport. */
export interface PublisherContext {
  js: JetStreamClient;
  options: ResolvedNatsOptions;
  /** The server's `max_payload`, in bytes. */
  maxPayload(): number;
  /** Declare (once) the stream of a context; `again` forgets an earlier declaration first. */
  declareStream(context: string, again?: boolean): Promise<void>;
  /** True once the transport is closing: retries stop. */
  closing(): boolean;
}

/**
 * Publishes with JetStream acks pipelined: every event of a batch is sent without waiting
 * for the previous one's ack, up to `maxPublishInFlight` awaiting at once, and the batch
 * resolves once all are acked (stored, and on file storage written). A failed send is
 * resent until `publishTimeoutMs`; the server drops a copy it already has by its
 * `Nats-Msg-Id`, so a resend never duplicates.
 */
export class NatsPublisher {
  private inFlight = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly context: PublisherContext) {}

  async publish(events: readonly CloudEvent[]): Promise<PublishResult> {
    if (!Array.isArray(events)) throw new InvalidArgumentError('publish takes an array of events');
    const outgoing = this.prepare(events);
    const contexts = [...new Set(outgoing.map((o) => o.context))];
    await Promise.all(contexts.map((context) => this.context.declareStream(context)));
    const acks: Promise<PubAck>[] = [];
    for (const message of outgoing) {
      if (this.inFlight >= this.context.options.maxPublishInFlight) await this.slot();
      this.inFlight++;
      acks.push(this.send(message).finally(() => this.release()));
    }
    const settled = await Promise.allSettled(acks);
    const failed = settled.find((s) => s.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    return {
      positions: settled.map((s) => String((s as PromiseFulfilledResult<PubAck>).value.seq)),
    };
  }

  /** Check and serialise every event before anything is sent: bad input sends nothing. */
  private prepare(events: readonly CloudEvent[]): Outgoing[] {
    const { subjectPrefix, partitions, mode } = this.context.options;
    const limit = this.context.maxPayload();
    return events.map((input) => {
      const event = normalizeEvent(input, { allowForeignTypes: true });
      const partition = partitionOf(event.partitionkey, partitions);
      const subject = eventSubject(subjectPrefix, partition, event.type);
      const encoded = encodeEvent(event, mode);
      if (encoded.size > limit) throw new EventTooLargeError(event.id, encoded.size, limit);
      return { id: event.id, context: contextOf(event.type), subject, encoded };
    });
  }

  private async send(message: Outgoing): Promise<PubAck> {
    const { js, options } = this.context;
    const deadline = Date.now() + options.publishTimeoutMs;
    for (let attempt = 0; ; attempt++) {
      try {
        return await js.publish(message.subject, message.encoded.body, {
          msgID: message.id,
          headers: message.encoded.headers,
          timeout: Math.max(1, Math.min(5000, deadline - Date.now())),
        });
      } catch (error) {
        const remaining = deadline - Date.now();
        if (!retryable(error) || remaining <= 0 || this.context.closing()) {
          throw new TransportUnavailableError(
            `JetStream did not take event ${message.id}: ${(error as Error).message}`,
            {
              retryable: retryable(error),
              eventId: message.id,
              subject: message.subject,
              servers: options.servers,
            },
            { cause: error },
          );
        }
        options.logger.warn(
          { eventId: message.id, subject: message.subject, attempt: attempt + 1, err: error },
          'JetStream did not ack a publish; resending',
        );
        // No responders: the stream may be gone (deleted, or a memory stream after a
        // restart): declare it again before the resend.
        if (noResponders(error)) {
          await this.context.declareStream(message.context, true).catch(() => undefined);
        }
        await sleep(Math.min(remaining, Math.min(1000, 50 * 2 ** attempt)));
      }
    }
  }

  private slot(): Promise<void> {
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    this.inFlight--;
    this.waiting.shift()?.();
  }
}

/** The error and the errors it wraps (`cause`), outermost first. */
function chain(error: unknown): unknown[] {
  const found: unknown[] = [];
  for (let e = error; e !== undefined && found.length < 5; e = (e as Error).cause) found.push(e);
  return found;
}

/** Worth resending: the server or JetStream was away, not a refusal of the message itself. */
function retryable(error: unknown): boolean {
  return chain(error).some((e) =>
    e instanceof JetStreamApiError
      ? e.status === 503
      : e instanceof natsErrors.TimeoutError ||
        e instanceof natsErrors.NoRespondersError ||
        e instanceof natsErrors.RequestError ||
        e instanceof natsErrors.ConnectionError,
  );
}

/** Nobody answered on the subject: no stream captures it (any more). */
function noResponders(error: unknown): boolean {
  return chain(error).some(
    (e) =>
      e instanceof natsErrors.NoRespondersError ||
      (e instanceof natsErrors.RequestError && e.isNoResponders()),
  );
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
