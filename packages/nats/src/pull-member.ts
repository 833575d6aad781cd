import {
  InvalidArgumentError,
  type Logger,
  type CloudEvent,
  type Delivery,
  type DeliveryHandler,
  type NackOptions,
  type TransportSubscription,
} from '@eventfabric/core';
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { createInbox } from '@nats-io/transport-node';
import { decodeEvent } from './cloudevents-nats.js';
import type { NatsConsumerPlan } from './topology.js';

/** How long a pull waits when the member cannot keep one open on every partition at once. */
const ROTATING_PULL_MS = 200;
/** How long after its expiry a pull with no answer counts as lost (a restarted server). */
const LOST_PULL_GRACE_MS = 2000;

/** One partition consumer the member pulls from. */
interface Slot {
  plan: NatsConsumerPlan;
  index: number;
  /** Numbers each pull, so the status of an older one cannot end a newer one. */
  pullSeq: number;
  pulling: boolean;
  pullDeadline: number;
  /** A delivery of this partition is unsettled here (the server sends no other meanwhile). */
  held: boolean;
  /** Do not pull before this time (after a refusal). */
  notBefore: number;
}

/** A message handed to this member, from arrival until settled. */
interface Held {
  slot: Slot;
  msg: Msg;
  deliveryCount: number;
  settled: boolean;
  workingAt: number;
}

/** What a member needs from its transport. */
export interface PullMemberContext {
  nc: NatsConnection;
  group: string;
  handler: DeliveryHandler;
  consumers: readonly NatsConsumerPlan[];
  /** Exact match on the event type, for consumers whose filter is wider than the topics. */
  matches: (type: string) => boolean;
  prefetch: number;
  concurrency: number;
  ackWaitMs: number;
  pullExpiresMs: number;
  drainTimeoutMs: number;
  /** The server lost a consumer (memory storage after a restart): declare the group again. */
  redeclare: () => Promise<void>;
  logger: Logger;
  onClosed: (member: PullMember) => void;
}

/**
 * One member of a consumer group: pulls one message at a time from each partition consumer
 * of the group (each has `max_ack_pending` 1, so the server hands a partition's next event
 * to any member only once this one is settled), runs up to `concurrency` handlers, keeps at
 * most `prefetch` deliveries pulled or unsettled, and settles with explicit acks.
 *
 * The ack is sent without waiting for the server's confirmation: an ack lost with the
 * connection only means a redelivery, which the idempotency record absorbs.
 */
export class PullMember implements TransportSubscription {
  readonly group: string;
  private readonly slots: Slot[];
  private readonly byConsumer = new Map<string, Slot>();
  private readonly inbox = createInbox();
  private subscription: Subscription | undefined;
  private readonly queue: Held[] = [];
  private readonly unsettled = new Set<Held>();
  private readonly inflight = new Set<Promise<void>>();
  private running = 0;
  private cursor = 0;
  private closed = false;
  private closing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private redeclaring: Promise<void> | undefined;

  constructor(private readonly ctx: PullMemberContext) {
    this.group = ctx.group;
    this.slots = ctx.consumers.map((plan, index) => ({
      plan,
      index,
      pullSeq: 0,
      pulling: false,
      pullDeadline: 0,
      held: false,
      notBefore: 0,
    }));
    for (const slot of this.slots)
      this.byConsumer.set(`${slot.plan.stream}.${slot.plan.name}`, slot);
  }

  async start(): Promise<void> {
    this.subscription = this.ctx.nc.subscribe(`${this.inbox}.>`, {
      callback: (error, msg) => {
        if (!error) this.receive(msg);
      },
    });
    // The server must know the inbox before the first pull: a pull whose reply subject has
    // no interest yet is parked until the server's next interest check.
    await this.ctx.nc.flush();
    const every = Math.max(50, Math.min(1000, Math.floor(this.ctx.ackWaitMs / 3)));
    this.timer = setInterval(() => this.tick(), every);
    this.timer.unref();
    this.pump();
  }

  /** The connection came back: pulls sent before it went are gone with the old server. */
  reconnected(): void {
    for (const slot of this.slots) slot.pulling = false;
    this.pump();
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.closed = true;
    // Deliveries queued but never handed to a handler go back to the group at once.
    for (const held of this.queue.splice(0)) this.settle(held, NAK);
    await drain(this.inflight, this.ctx.drainTimeoutMs);
    for (const held of [...this.unsettled]) this.settle(held, NAK);
    clearInterval(this.timer);
    // Drain, not unsubscribe: a message already on its way is still received, and released.
    await this.subscription?.drain().catch(() => undefined);
    this.ctx.onClosed(this);
  }

  private receive(msg: Msg): void {
    const status = msg.headers?.code ?? 0;
    if (!msg.reply || !msg.reply.startsWith('$JS.ACK.')) {
      if (status !== 0) this.pullEnded(msg.subject, status);
      return;
    }
    const tokens = msg.reply.split('.');
    const at = tokens.length >= 11 ? 4 : 2;
    const slot = this.byConsumer.get(`${tokens[at]}.${tokens[at + 1]}`);
    const held: Held = {
      slot: slot!,
      msg,
      deliveryCount: Number(tokens[at + 2]),
      settled: false,
      workingAt: Date.now(),
    };
    if (!slot || this.closed) {
      respond(msg, NAK);
      return;
    }
    slot.pulling = false;
    slot.held = true;
    this.unsettled.add(held);
    this.queue.push(held);
    this.dispatch();
    this.pump();
  }

  /** A pull's status: 408 expired, 404 nothing, 409 refused, 503 JetStream unavailable. */
  private pullEnded(subject: string, status: number): void {
    const [index, seq] = subject
      .slice(this.inbox.length + 1)
      .split('.')
      .map(Number);
    const slot = this.slots[index!];
    if (!slot || slot.pullSeq !== seq || status === 100) return;
    slot.pulling = false;
    if (status === 409 || status === 503) {
      this.ctx.logger.warn(
        { group: this.group, consumer: slot.plan.name, stream: slot.plan.stream, status },
        'JetStream refused a pull; declaring the group again',
      );
      slot.notBefore = Date.now() + 1000;
      this.redeclare();
    }
    this.pump();
  }

  private redeclare(): void {
    this.redeclaring ??= this.ctx
      .redeclare()
      .catch((error: unknown) =>
        this.ctx.logger.error({ group: this.group, err: error }, 'declaring the group failed'),
      )
      .finally(() => setTimeout(() => (this.redeclaring = undefined), 2000).unref());
  }

  /** Keep a pull open on free partitions, within `prefetch`. */
  private pump(): void {
    if (this.closed) return;
    const now = Date.now();
    let budget = this.ctx.prefetch;
    for (const slot of this.slots) if (slot.pulling || slot.held) budget--;
    const count = this.slots.length;
    const expires = this.keepsEveryPartition() ? this.ctx.pullExpiresMs : ROTATING_PULL_MS;
    const start = this.cursor;
    for (let i = 0; i < count && budget > 0; i++) {
      const slot = this.slots[(start + i) % count]!;
      if (slot.pulling || slot.held || slot.notBefore > now) continue;
      this.pull(slot, expires);
      budget--;
      // The next pump starts after this partition, so a small prefetch rotates fairly.
      this.cursor = (slot.index + 1) % count;
    }
  }

  private pull(slot: Slot, expiresMs: number): void {
    this.startPull(slot, expiresMs);
    try {
      this.ctx.nc.publish(
        `$JS.API.CONSUMER.MSG.NEXT.${slot.plan.stream}.${slot.plan.name}`,
        `{"batch":1,"expires":${expiresMs * 1_000_000}}`,
        { reply: this.pullInbox(slot) },
      );
    } catch {
      // The connection is closing; the tick or a reconnect pulls again.
      slot.pulling = false;
    }
  }

  /** Lost pulls, keep-alives for long handlers, and a pump. */
  private tick(): void {
    const now = Date.now();
    let lost = false;
    for (const slot of this.slots) {
      if (slot.pulling && now > slot.pullDeadline) {
        slot.pulling = false;
        lost = true;
      }
    }
    // The server answers every pull, if only with 408 at its expiry; silence means the
    // consumer is gone (a memory stream after a restart, a deleted consumer).
    if (lost) {
      this.ctx.logger.warn(
        { group: this.group },
        'a pull got no answer; declaring the group again',
      );
      this.redeclare();
    }
    const keepAliveAfter = this.ctx.ackWaitMs / 3;
    for (const held of this.unsettled) {
      if (now - held.workingAt >= keepAliveAfter) {
        held.workingAt = now;
        respond(held.msg, WORKING);
      }
    }
    this.pump();
  }

  private dispatch(): void {
    while (this.queue.length > 0 && this.running < this.ctx.concurrency && !this.closed) {
      this.run(this.queue.shift()!);
    }
  }

  private run(held: Held): void {
    let event: CloudEvent;
    try {
      event = decodeEvent(held.msg.data, held.msg.headers);
    } catch (error) {
      // Not a CloudEvent: no handler can ever take it. TERM tells the server to stop.
      this.ctx.logger.error(
        {
          group: this.group,
          subject: held.msg.subject,
          stream: held.slot.plan.stream,
          err: error,
        },
        'a message that is not a CloudEvent was terminated',
      );
      this.settle(held, TERM);
      return;
    }
    if (!held.slot.plan.exactFilter && !this.ctx.matches(event.type)) {
      this.settle(held, ACK);
      return;
    }
    const delivery: Delivery = {
      event,
      deliveryCount: held.deliveryCount,
      group: this.group,
      origin: held.slot.plan.streamLabel,
      ack: async () => this.settle(held, ACK),
      nack: async (options?: NackOptions) => {
        const delayMs = nackDelay(options);
        this.settle(held, delayMs > 0 ? `-NAK {"delay":${Math.round(delayMs * 1e6)}}` : NAK);
      },
    };
    this.running++;
    const handling = (async () => {
      try {
        await this.ctx.handler(delivery);
      } catch {
        // A handler that throws has not handled the event.
      }
      this.settle(held, NAK);
    })().finally(() => {
      this.running--;
      this.inflight.delete(handling);
      this.dispatch();
    });
    this.inflight.add(handling);
  }

  private settle(held: Held, reply: string): void {
    if (held.settled) return;
    held.settled = true;
    this.unsettled.delete(held);
    const slot = held.slot;
    slot.held = false;
    if (reply === ACK && this.keepsEveryPartition() && !this.closed && !slot.pulling) {
      // Ack and ask for the partition's next event in one message (+NXT): half the
      // messages per event of an ack followed by a pull.
      const expiresMs = this.ctx.pullExpiresMs;
      this.startPull(slot, expiresMs);
      try {
        held.msg.respond(`+NXT {"batch":1,"expires":${expiresMs * 1_000_000}}`, {
          reply: this.pullInbox(slot),
        });
      } catch {
        slot.pulling = false;
      }
    } else {
      respond(held.msg, reply);
    }
    this.pump();
  }

  /** Prefetch covers a pull on every partition at once: pulls never rotate. */
  private keepsEveryPartition(): boolean {
    return this.ctx.prefetch >= this.slots.length;
  }

  private startPull(slot: Slot, expiresMs: number): void {
    slot.pullSeq++;
    slot.pulling = true;
    slot.pullDeadline = Date.now() + expiresMs + LOST_PULL_GRACE_MS;
  }

  private pullInbox(slot: Slot): string {
    return `${this.inbox}.${slot.index}.${slot.pullSeq}`;
  }
}

const ACK = '+ACK';
const NAK = '-NAK';
const WORKING = '+WPI';
/** Without a reason: nats-server 2.9 does not read one. */
const TERM = '+TERM';

/** Settle on the server; on a closed connection the server redelivers after `ack_wait`. */
function respond(msg: Msg, reply: string): void {
  try {
    msg.respond(reply);
  } catch {
    // Nothing to do: the delivery stays pending on the server and comes back.
  }
}

function nackDelay(options: NackOptions | undefined): number {
  const delay = options?.delayMs ?? 0;
  if (typeof delay !== 'number' || !Number.isFinite(delay) || delay < 0) {
    throw new InvalidArgumentError('nack delayMs must be a non-negative number', {
      delayMs: delay,
    });
  }
  return delay;
}

async function drain(inflight: Set<Promise<void>>, timeoutMs: number): Promise<void> {
  if (inflight.size === 0) return;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
  await Promise.race([Promise.allSettled([...inflight]), deadline]);
  clearTimeout(timer);
}
