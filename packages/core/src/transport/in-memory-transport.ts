import { InvalidArgumentError, StoreClosedError } from '../errors/index.js';
import { normalizeEvent, type CloudEvent } from '../envelope/index.js';
import { assertGroupName, resolveSubscribeLimits } from './consumer-group.js';
import { compileTopics } from './topic-pattern.js';
import type {
  Delivery,
  DeliveryHandler,
  NackOptions,
  PublishResult,
  Transport,
  TransportSubscribeOptions,
  TransportSubscription,
} from './transport.js';

/** Options for {@link InMemoryTransport}. */
export interface InMemoryTransportOptions {
  /**
   * The broker this connection talks to. Several transports on one broker behave like
   * several processes on one real broker. @defaultValue a new broker
   */
  broker?: InMemoryBroker;
  /**
   * How long `close()` waits for in-flight handlers before abandoning their deliveries to
   * the rest of the group. @defaultValue 30 000
   */
  drainTimeoutMs?: number;
}

interface Entry {
  event: CloudEvent;
  deliveries: number;
  notBefore: number;
  /** The delivery currently out, if any; a stale delivery's ack is ignored. */
  out: symbol | undefined;
}

interface Member {
  handler: DeliveryHandler;
  concurrency: number;
  running: number;
  closed: boolean;
  inflight: Set<Promise<void>>;
}

/**
 * One consumer group: its cursor into the log, a queue per partition key, and the keys
 * whose head is ready to deliver (not out, not delayed). Dispatch costs O(1) per delivery.
 */
class Group {
  cursor = 0;
  readonly keys = new Map<string, Entry[]>();
  readonly members: Member[] = [];
  private readonly ready: string[] = [];
  private readyHead = 0;
  private nextMember = 0;
  /** Deliveries out to members, so closing a member can hand its work back to the group. */
  private readonly outstanding = new Map<symbol, { member: Member; release: () => void }>();
  private dispatching = false;

  constructor(
    readonly name: string,
    readonly matches: (type: string) => boolean,
    private readonly broker: InMemoryBroker,
  ) {}

  /** Hand ready key heads to members with a free slot. */
  dispatch(): void {
    if (this.dispatching) return;
    this.dispatching = true;
    try {
      const log = this.broker.log;
      for (; this.cursor < log.length; this.cursor++) {
        const event = log[this.cursor]!;
        if (!this.matches(event.type)) continue;
        const queue = this.keys.get(event.partitionkey);
        const entry: Entry = { event, deliveries: 0, notBefore: 0, out: undefined };
        if (queue) queue.push(entry);
        else {
          this.keys.set(event.partitionkey, [entry]);
          this.ready.push(event.partitionkey);
        }
      }
      while (this.readyHead < this.ready.length) {
        const member = this.freeMember();
        if (!member) break;
        const key = this.ready[this.readyHead++]!;
        this.deliver(member, key, this.keys.get(key)![0]!);
      }
      if (this.readyHead > 1024 && this.readyHead * 2 > this.ready.length) {
        this.ready.splice(0, this.readyHead);
        this.readyHead = 0;
      }
    } finally {
      this.dispatching = false;
    }
  }

  /** The key's head is settled: make the key ready now, or when its delay ends. */
  private requeue(key: string, notBefore: number): void {
    const delay = notBefore - Date.now();
    if (delay <= 0) {
      this.ready.push(key);
      return;
    }
    // The delay outlives the members: a member joining later still gets the event on time.
    // Unref'd, so a pending redelivery never keeps a process alive.
    setTimeout(() => {
      this.ready.push(key);
      this.dispatch();
    }, delay).unref();
  }

  private freeMember(): Member | undefined {
    for (let i = 0; i < this.members.length; i++) {
      const member = this.members[(this.nextMember + i) % this.members.length]!;
      if (!member.closed && member.running < member.concurrency) {
        this.nextMember = (this.nextMember + i + 1) % this.members.length;
        return member;
      }
    }
    return undefined;
  }

  private deliver(member: Member, key: string, entry: Entry): void {
    const token = Symbol('delivery');
    entry.out = token;
    entry.deliveries++;
    member.running++;
    const settle = (ack: boolean, delayMs = 0): void => {
      if (entry.out !== token) return;
      entry.out = undefined;
      this.outstanding.delete(token);
      if (ack) {
        const queue = this.keys.get(key)!;
        queue.shift();
        if (queue.length === 0) this.keys.delete(key);
        else this.requeue(key, 0);
      } else {
        entry.notBefore = Date.now() + delayMs;
        this.requeue(key, entry.notBefore);
      }
      queueMicrotask(() => this.dispatch());
    };
    const delivery: Delivery = {
      event: entry.event,
      deliveryCount: entry.deliveries,
      group: this.name,
      origin: this.name,
      ack: async () => settle(true),
      nack: async (options?: NackOptions) => settle(false, nackDelay(options)),
    };
    const run = (async () => {
      try {
        await member.handler(delivery);
      } catch {
        // A handler that throws has not handled the event.
      }
      settle(false);
    })().finally(() => {
      member.running--;
      member.inflight.delete(run);
      if (!member.closed) queueMicrotask(() => this.dispatch());
    });
    member.inflight.add(run);
    this.outstanding.set(token, { member, release: () => settle(false) });
  }

  /** Abandon every delivery still out to `member`, so the group redelivers them. */
  abandon(member: Member): void {
    for (const out of [...this.outstanding.values()]) {
      if (out.member === member) out.release();
    }
  }
}

function nackDelay(options: NackOptions | undefined): number {
  const delay = options?.delayMs ?? 0;
  if (!Number.isFinite(delay) || delay < 0) {
    throw new InvalidArgumentError('nack delayMs must be a non-negative number', {
      delayMs: delay,
    });
  }
  return delay;
}

/** The shared state behind in-memory transports: the log and the consumer groups. */
export class InMemoryBroker {
  readonly log: CloudEvent[] = [];
  readonly groups = new Map<string, Group>();

  append(events: CloudEvent[]): PublishResult {
    const start = this.log.length;
    this.log.push(...events);
    for (const group of this.groups.values()) group.dispatch();
    return { positions: events.map((_, i) => String(start + i + 1)) };
  }

  group(name: string, topics: readonly string[]): Group {
    let group = this.groups.get(name);
    if (!group) {
      group = new Group(name, compileTopics(topics), this);
      this.groups.set(name, group);
    }
    return group;
  }
}

/**
 * The reference {@link Transport}: a log in memory with durable-looking consumer groups.
 * A group created after events were published receives them from the start of the log,
 * as a group on a persistent broker would. It keeps order per partition key and passes
 * the transport conformance suite.
 */
export class InMemoryTransport implements Transport {
  readonly broker: InMemoryBroker;
  private readonly drainTimeoutMs: number;
  private readonly subscriptions = new Set<TransportSubscription>();
  private closed = false;

  constructor(options: InMemoryTransportOptions = {}) {
    this.broker = options.broker ?? new InMemoryBroker();
    this.drainTimeoutMs = options.drainTimeoutMs ?? 30_000;
  }

  async publish(events: readonly CloudEvent[]): Promise<PublishResult> {
    if (this.closed) throw new StoreClosedError();
    if (!Array.isArray(events)) throw new InvalidArgumentError('publish takes an array of events');
    const normalized = events.map((e) => normalizeEvent(e, { allowForeignTypes: true }));
    return this.broker.append(normalized);
  }

  async subscribe(
    group: string,
    handler: DeliveryHandler,
    options: TransportSubscribeOptions,
  ): Promise<TransportSubscription> {
    if (this.closed) throw new StoreClosedError();
    assertGroupName(group);
    if (typeof handler !== 'function')
      throw new InvalidArgumentError('subscribe needs a handler function');
    if (typeof options !== 'object' || options === null)
      throw new InvalidArgumentError('subscribe needs options with topics');
    // Validated here too: joining an existing group does not compile the topics again.
    compileTopics(options.topics);
    const { concurrency } = resolveSubscribeLimits(options);
    const state = this.broker.group(group, options.topics);
    const member: Member = { handler, concurrency, running: 0, closed: false, inflight: new Set() };
    state.members.push(member);
    state.dispatch();
    const drainTimeoutMs = this.drainTimeoutMs;
    const subscription: TransportSubscription = {
      group,
      close: async () => {
        if (member.closed) return;
        member.closed = true;
        await drain(member.inflight, drainTimeoutMs);
        state.abandon(member);
        state.members.splice(state.members.indexOf(member), 1);
        this.subscriptions.delete(subscription);
        state.dispatch();
      },
    };
    this.subscriptions.add(subscription);
    return subscription;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.subscriptions].map((s) => s.close()));
  }
}

async function drain(inflight: Set<Promise<void>>, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
  await Promise.race([Promise.allSettled([...inflight]), deadline]);
  clearTimeout(timer);
}

/** Create an in-memory transport, optionally on a shared broker. */
export function createInMemoryTransport(options: InMemoryTransportOptions = {}): InMemoryTransport {
  return new InMemoryTransport(options);
}
