import type { CloudEvent } from '../envelope/index.js';

/** Options for {@link Delivery.nack}. */
export interface NackOptions {
  /**
   * Redeliver no sooner than this many milliseconds from now. Until then, later events
   * with the same partition key wait behind this one (where the transport keeps order).
   * @defaultValue 0: redeliver as soon as possible
   */
  delayMs?: number;
}

/**
 * One delivery of one event to one consumer group. Exactly one of `ack` or `nack` settles
 * it; settling twice is a no-op. A delivery left unsettled when its consumer dies is
 * redelivered to another member of the group.
 */
export interface Delivery {
  /** The event as published (never upcast: that is the consumer's choice). */
  readonly event: CloudEvent;
  /**
   * How many times this event has been handed to this group, this one included (1 on the
   * first delivery). Transports count deliveries across consumer crashes where they can
   * (a durable log, a quorum queue); the consumer framework quarantines an event whose
   * count climbs past its retry budget.
   */
  readonly deliveryCount: number;
  /** The consumer group it was delivered to. */
  readonly group: string;
  /** Where it came from, for dead-letter context: a queue, a stream or a log name. */
  readonly origin: string;
  /** The event is handled: never deliver it to this group again. */
  ack(): Promise<void>;
  /** The event was not handled: deliver it again, after `delayMs` when given. */
  nack(options?: NackOptions): Promise<void>;
}

/** Called for each delivery. A rejection, or returning without settling, counts as a nack. */
export type DeliveryHandler = (delivery: Delivery) => Promise<void>;

/** Options for {@link Transport.subscribe}. */
export interface TransportSubscribeOptions {
  /**
   * Event type patterns this group receives. A pattern is an exact type, or ends in `*`
   * to match every type that starts with what precedes it: `treasury.*` matches
   * `treasury.contribution.approved.v1`; a `*` between dots matches one segment.
   */
  topics: readonly string[];
  /**
   * Most deliveries held unsettled by this consumer at once.
   * @defaultValue 100
   */
  prefetch?: number;
  /**
   * Most handlers running at once in this consumer. Two deliveries with the same partition
   * key never run at the same time, whatever this says.
   * @defaultValue 1
   */
  concurrency?: number;
}

/** A running consumer: one member of a group. */
export interface TransportSubscription {
  readonly group: string;
  /**
   * Stop taking deliveries, wait for the handlers in flight to settle, release what this
   * consumer holds (leases, unacked messages) to the rest of the group. Idempotent.
   */
  close(): Promise<void>;
}

/** What a publish stored: one position or sequence per event, in order, where the transport has one. */
export interface PublishResult {
  positions: (string | undefined)[];
}

/**
 * Moves events from publishers to consumer groups.
 *
 * Implementations must guarantee:
 * - **Durable publish.** `publish` resolves only after every event is durably taken
 *   (fsync, broker confirm, JetStream ack). An event nobody can receive is an error, never
 *   a silent drop, where the transport can tell.
 * - **Groups.** Members of one group compete: each event is handled by one of them.
 *   Every group receives every event matching its topics (fan-out).
 * - **At-least-once.** An event stays pending for a group until a member acks it. A nack,
 *   or a member's death, redelivers it.
 * - **Order per partition key**, where the transport declares `guaranteedOrder`: events
 *   with one `partitionkey` are handled one at a time, in publish order.
 * - **Idempotent close**, of subscriptions and of the transport.
 */
export interface Transport {
  /** Durably publish events, validated and serialised by the caller's pipeline. */
  publish(events: readonly CloudEvent[]): Promise<PublishResult>;
  /** Join `group` as one more consumer. Resolves once the consumer is receiving. */
  subscribe(
    group: string,
    handler: DeliveryHandler,
    options: TransportSubscribeOptions,
  ): Promise<TransportSubscription>;
  /** Close every subscription (draining in-flight handlers), then the connection. Idempotent. */
  close(): Promise<void>;
}
