import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Registry, RegistryContentType } from 'prom-client';
import type { StoredEvent } from '../envelope/index.js';
import { InvalidArgumentError } from '../errors/index.js';
import type { EventStore, Subscription } from '../event-store/index.js';
import type { Logger } from '../consumer/handler.js';
import { silentLogger } from '../consumer/silent-logger.js';
import { compileTopics, topicPrefixes } from '../transport/topic-pattern.js';
import type { RelayCheckpointStore } from './relay-checkpoints.js';
import { relayMetrics, type RelayMetrics } from './relay-metrics.js';

/** Options for {@link createRelay}. */
export interface RelayOptions {
  /** The relay's name: its checkpoint and lease. Letters, digits, `.`, `_`, `-`, `:`. */
  name: string;
  /** Where events come from: the store's `$all`, in position order. */
  store: EventStore;
  /** Where the checkpoint and the lease live (durably, for more than one process). */
  checkpoints: RelayCheckpointStore;
  /**
   * Send a batch on, in order. Resolve only once the destination has durably taken every
   * event (a transport's `publish` does): the checkpoint advances after it resolves. A
   * rejection retries the same batch, with backoff, before anything later.
   */
  forward: (events: StoredEvent[]) => Promise<unknown>;
  /** Type patterns to forward (as a transport's topics). @defaultValue every event */
  topics?: readonly string[];
  /** Most events per forwarded batch. @defaultValue 500 */
  batchSize?: number;
  /** How long a lease lasts without renewal, in ms: the failover time. @defaultValue 10000 */
  leaseMs?: number;
  /** This instance's name in the lease. @defaultValue `<host>:<pid>:<random>` */
  owner?: string;
  /** @defaultValue a silent logger */
  logger?: Logger;
  /** Register the relay's metrics here (see {@link RelayMetrics}). @defaultValue none */
  metrics?: Registry<RegistryContentType>;
}

/** A running relay instance: active when it holds the lease, on standby otherwise. */
export interface Relay {
  readonly name: string;
  readonly owner: string;
  /** True while this instance holds the lease and forwards. */
  readonly active: boolean;
  /** The last position this instance forwarded and checkpointed. */
  readonly position: string | undefined;
  /** Events this instance has forwarded. */
  readonly forwarded: number;
  /**
   * Forward what is buffered, give the lease up and stop. A forward that keeps failing is
   * abandoned (its events are not checkpointed: the next owner sends them). Idempotent.
   */
  stop(): Promise<void>;
}

const NAME = /^[A-Za-z0-9._:-]{1,200}$/;
const MAX_BACKOFF_MS = 5000;

/**
 * Forward the store's log to a destination (a transport, usually), keeping a durable
 * checkpoint: the outbox relay. At-least-once: the checkpoint advances only after the
 * destination took the batch, so a crash re-sends at most the batches in flight. Several
 * instances may run; the lease lets one forward at a time, and another takes over within
 * `leaseMs` of its death. Events sent twice around a failover are for the consumers'
 * idempotency (event ids are stable) to absorb.
 *
 * Resolves once the first attempt at the lease has been made.
 * @throws InvalidArgumentError for malformed options, before anything starts
 */
export async function createRelay(options: RelayOptions): Promise<Relay> {
  const relay = new StoreRelay(options);
  await relay.tick();
  relay.startTicking();
  return relay;
}

class StoreRelay implements Relay {
  readonly name: string;
  readonly owner: string;
  active = false;
  position: string | undefined;
  forwarded = 0;
  private readonly batchSize: number;
  private readonly leaseMs: number;
  private readonly matches: (type: string) => boolean;
  private readonly typePrefixes: string[] | undefined;
  private readonly logger: Logger;
  private subscription: Subscription | undefined;
  private buffer: StoredEvent[] = [];
  /** Position of the last event read (forwarded or skipped), not yet checkpointed. */
  private readUpTo: string | undefined;
  /** Position up to which events have been handed to a send (running or done). */
  private takenUpTo: string | undefined;
  private chain: Promise<void> = Promise.resolve();
  /** A send queued behind the running one and not started: it takes the buffer as it starts. */
  private pendingSend: Promise<void> | undefined;
  /** The last batch's checkpoint, written while the next batch is forwarded. */
  private checkpointing: Promise<void> = Promise.resolve();
  private flushScheduled = false;
  /** Bumped whenever the lease is taken or lost: work of an older term is dropped. */
  private term = 0;
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;
  private stopped = false;
  private stopping: Promise<void> | undefined;
  private readonly metrics: RelayMetrics | undefined;
  private readonly untrack: (() => void) | undefined;

  constructor(private readonly options: RelayOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new InvalidArgumentError('createRelay needs an options object');
    }
    if (typeof options.name !== 'string' || !NAME.test(options.name)) {
      throw new InvalidArgumentError(
        'relay name must be 1-200 letters, digits, ".", "_", "-" or ":"',
        { name: String(options.name) },
      );
    }
    if (typeof options.forward !== 'function') {
      throw new InvalidArgumentError('createRelay needs a forward function');
    }
    if (typeof options.store?.subscribe !== 'function') {
      throw new InvalidArgumentError('createRelay needs an event store');
    }
    if (typeof options.checkpoints?.acquire !== 'function') {
      throw new InvalidArgumentError('createRelay needs a relay checkpoint store');
    }
    this.name = options.name;
    this.owner = options.owner ?? `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
    this.batchSize = positive(options.batchSize, 500, 'batchSize');
    this.leaseMs = positive(options.leaseMs, 10_000, 'leaseMs');
    const topics = options.topics ?? ['*'];
    this.matches = compileTopics(topics);
    this.typePrefixes = topicPrefixes(topics);
    this.logger = (options.logger ?? silentLogger).child({ relay: this.name });
    if (options.metrics !== undefined) {
      this.metrics = relayMetrics(options.metrics);
      this.untrack = this.metrics.track(this);
    }
  }

  /** Events in the log after this instance's checkpoint, as of now. */
  async pending(): Promise<number | undefined> {
    const head = Number(await this.options.store.headPosition());
    return Math.max(0, head - Number(this.position ?? 0));
  }

  startTicking(): void {
    if (this.stopped) return;
    this.timer = setInterval(() => void this.tick(), Math.max(1, Math.floor(this.leaseMs / 3)));
  }

  /** Take the lease when on standby; renew it when active. */
  async tick(): Promise<void> {
    if (this.ticking || this.stopped) return;
    this.ticking = true;
    try {
      if (this.active) {
        const held = await this.options.checkpoints.advance(
          this.name,
          this.owner,
          undefined,
          this.leaseMs,
        );
        if (!held) this.standDown('lease lost');
        return;
      }
      const lease = await this.options.checkpoints.acquire(this.name, this.owner, this.leaseMs);
      if (lease.held && !this.stopped) this.takeOver(lease.position);
    } catch (error) {
      this.logger.warn({ err: error }, 'relay lease check failed; trying again');
    } finally {
      this.ticking = false;
    }
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.stopped = true;
      if (this.timer) clearInterval(this.timer);
      const subscription = this.subscription;
      this.subscription = undefined;
      await subscription?.stop();
      if (this.active) {
        await this.flush();
        await this.checkpointing;
        await this.options.checkpoints
          .release(this.name, this.owner)
          .catch((error: unknown) => this.logger.warn({ err: error }, 'relay release failed'));
      }
      this.active = false;
      this.term++;
      this.untrack?.();
    })();
    return this.stopping;
  }

  private takeOver(position: string | undefined): void {
    this.active = true;
    const term = ++this.term;
    this.position = position;
    this.readUpTo = position;
    this.takenUpTo = position;
    this.buffer = [];
    this.pendingSend = undefined;
    this.logger.info({ owner: this.owner, after: position ?? 'start' }, 'relay active');
    const subscription = this.options.store.subscribe({
      after: position,
      typePrefixes: this.typePrefixes,
      batchSize: this.batchSize,
      raw: true,
      handler: (event) => this.take(event, term),
    });
    this.subscription = subscription;
    subscription.done.catch((error: unknown) => {
      if (term !== this.term) return;
      this.logger.error({ err: error }, 'relay read failed; standing down');
      this.standDown('read failed');
    });
  }

  /** Lose the lease (or give up after a failure): drop unsent work, wait on standby. */
  private standDown(reason: string): void {
    if (!this.active) return;
    this.logger.warn({ reason }, 'relay on standby');
    this.active = false;
    this.term++;
    this.buffer = [];
    const subscription = this.subscription;
    this.subscription = undefined;
    // Not awaited: its handler may be waiting on the very flush that called this.
    void subscription?.stop();
  }

  private take(event: StoredEvent, term: number): Promise<void> | void {
    if (term !== this.term) return;
    this.readUpTo = event.position;
    if (this.matches(event.type)) this.buffer.push(event);
    // A full buffer waits for its forward: the log is read no faster than it is sent.
    if (this.buffer.length >= this.batchSize) return this.flush();
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      // After the page in hand: a page's events go as one batch.
      setImmediate(() => {
        this.flushScheduled = false;
        void this.flush();
      });
    }
  }

  /**
   * Queue a forward of the buffer behind the one in flight; resolves when it is done. The
   * queued send takes the buffer when it starts, not now: pages read while a forward is in
   * flight go out together as one batch (at most `batchSize`: a full buffer stops reading),
   * so a slow destination gets fewer, larger batches instead of a growing queue of small
   * ones, each paying its own confirm and checkpoint.
   */
  private flush(): Promise<void> {
    if (this.pendingSend) return this.pendingSend;
    if (this.readUpTo === this.takenUpTo && this.buffer.length === 0) return this.chain;
    const term = this.term;
    const next: Promise<void> = this.chain.then(() => {
      if (this.pendingSend === next) this.pendingSend = undefined;
      if (term !== this.term) return;
      const batch = this.buffer;
      const upTo = this.readUpTo;
      this.buffer = [];
      this.takenUpTo = upTo;
      return this.send(batch, upTo, term);
    });
    this.pendingSend = next;
    this.chain = next;
    return next;
  }

  private async send(batch: StoredEvent[], upTo: string | undefined, term: number): Promise<void> {
    for (let attempt = 1; batch.length > 0; attempt++) {
      if (term !== this.term) return;
      try {
        await this.options.forward(batch);
        break;
      } catch (error) {
        if (this.stopped) {
          this.logger.warn({ err: error, events: batch.length }, 'relay stopped before a forward');
          return;
        }
        const delay = Math.min(MAX_BACKOFF_MS, 100 * 2 ** (attempt - 1));
        this.logger.warn({ err: error, attempt, delayMs: delay }, 'relay forward failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
    if (term !== this.term || upTo === undefined) return;
    this.forwarded += batch.length;
    this.metrics?.forwardedBatch(
      this.name,
      batch.map((e) => e.time),
    );
    // The previous batch's checkpoint ran beside this forward; at most one is in flight, so
    // a crash re-sends at most two batches. Checkpoints still advance in order, each only
    // after its batch's forward resolved.
    await this.checkpointing;
    if (term !== this.term) return;
    this.checkpointing = this.checkpoint(upTo, term);
  }

  private async checkpoint(upTo: string, term: number): Promise<void> {
    let held: boolean;
    try {
      held = await this.options.checkpoints.advance(this.name, this.owner, upTo, this.leaseMs);
    } catch (error) {
      // The checkpoint stays behind: the next owner re-sends, consumers absorb it.
      this.logger.warn({ err: error }, 'relay checkpoint failed');
      return;
    }
    if (term !== this.term) return;
    if (!held) {
      this.standDown('lease lost');
      return;
    }
    this.position = upTo;
  }
}

function positive(value: unknown, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new InvalidArgumentError(`${name} must be a positive integer`, {
      [name]: value as never,
    });
  }
  return value;
}
