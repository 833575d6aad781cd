import { trace, type Tracer } from '@opentelemetry/api';
import type { CloudEvent } from '../envelope/index.js';
import { InvalidArgumentError, PoisonMessageError, ShutdownTimeoutError } from '../errors/index.js';
import type { EventStore } from '../event-store/index.js';
import type { EventSchemas } from '../schema/index.js';
import {
  assertGroupName,
  compileTopics,
  type Delivery,
  type Transport,
  type TransportSubscription,
} from '../transport/index.js';
import { ConsumerMetrics } from './consumer-metrics.js';
import { InMemoryDeadLetterStore, type DeadLetterStore } from './dead-letter-store.js';
import type { EventHandler, HandleFn, Logger, Middleware } from './handler.js';
import { HandlingContext } from './handling-context.js';
import { deadLetter, describeFailure } from './middleware/dead-letter.js';
import { idempotency } from './middleware/idempotency.js';
import { metrics } from './middleware/metrics.js';
import { retry } from './middleware/retry.js';
import { tracing } from './middleware/tracing.js';
import { upcast } from './middleware/upcast.js';
import { InMemoryProcessedEvents, type ProcessedEvents } from './processed-events.js';
import { backoffDelay, resolveRetryPolicy, type RetryPolicy } from './retry-policy.js';
import { ScheduledRetry } from './scheduled-retry.js';
import { silentLogger } from './silent-logger.js';

/** Options for {@link Consumer}. */
export interface ConsumerOptions {
  /** The service name: each handler consumes as group `<service>.<handler>`. Lower-case. */
  service: string;
  transport: Transport;
  handlers: readonly EventHandler[];
  /** @defaultValue an {@link InMemoryDeadLetterStore} (not durable: pass a real one) */
  deadLetters?: DeadLetterStore;
  /** The idempotency record. @defaultValue an {@link InMemoryProcessedEvents} */
  processed?: ProcessedEvents;
  /** Upcast events for handlers and validate follow-up events. */
  schemas?: EventSchemas;
  /** Where `context.append` writes. */
  store?: EventStore;
  /** Source of follow-up events. @defaultValue `/<service>` */
  source?: string;
  /** @defaultValue {@link DEFAULT_RETRY_POLICY} */
  retry?: Partial<RetryPolicy>;
  /** Handlings at once per handler, across partition keys. @defaultValue 1 */
  concurrency?: number;
  /** Unsettled deliveries per handler. @defaultValue 100 */
  prefetch?: number;
  /** @defaultValue metrics in a private prom-client registry */
  metrics?: ConsumerMetrics;
  /** @defaultValue the global OpenTelemetry tracer `eventfabric` */
  tracer?: Tracer;
  /** @defaultValue a silent logger */
  logger?: Logger;
}

/** Options for {@link Consumer.stop}. */
export interface StopOptions {
  /** How long in-flight handlings may run on before they are told to abort. @defaultValue 10 000 */
  deadlineMs?: number;
}

/** What {@link Consumer.redrive} did. */
export interface RedriveResult {
  redriven: string[];
  failed: { id: string; code: string; message: string }[];
  /** Dead letters held back because an earlier one of the same partition key failed. */
  heldBack: string[];
}

interface Registered {
  handler: EventHandler;
  group: string;
  policy: RetryPolicy;
  chain: HandleFn;
  /** For redrive: the chain without retry and dead letters. */
  direct: HandleFn;
}

/**
 * Runs handlers against a transport. Each handler consumes as its own group, so its
 * retries, dead letters and idempotency are its own. The middleware order, outermost
 * first: tracing → metrics → dead-letter → retry → idempotency → upcast → handler.
 */
export class Consumer {
  readonly metrics: ConsumerMetrics;
  readonly deadLetters: DeadLetterStore;
  private readonly processed: ProcessedEvents;
  private readonly logger: Logger;
  private readonly registered: Registered[];
  private readonly subscriptions: TransportSubscription[] = [];
  private readonly shutdown = new AbortController();
  private inFlight = 0;
  private state: 'new' | 'running' | 'stopped' = 'new';

  constructor(private readonly options: ConsumerOptions) {
    if (typeof options !== 'object' || options === null)
      throw new InvalidArgumentError('consumer options are required');
    if (!Array.isArray(options.handlers) || options.handlers.length === 0) {
      throw new InvalidArgumentError('a consumer needs at least one handler');
    }
    this.metrics = options.metrics ?? new ConsumerMetrics();
    this.deadLetters = options.deadLetters ?? new InMemoryDeadLetterStore();
    this.processed = options.processed ?? new InMemoryProcessedEvents();
    this.logger = (options.logger ?? silentLogger).child({ service: options.service });
    const basePolicy = resolveRetryPolicy(options.retry);
    const names = new Set<string>();
    this.registered = options.handlers.map((handler) => {
      const group = `${options.service}.${handler?.name}`;
      assertGroupName(group);
      if (typeof handler.handle !== 'function') {
        throw new InvalidArgumentError(`handler ${handler.name} has no handle function`);
      }
      if (names.has(handler.name))
        throw new InvalidArgumentError(`handler name ${handler.name} is used twice`);
      names.add(handler.name);
      compileTopics(handler.on);
      const policy = resolveRetryPolicy(handler.retry, basePolicy);
      return { handler, group, policy, ...this.buildChains(handler, policy) };
    });
  }

  /** The group names this consumer joins. */
  get groups(): string[] {
    return this.registered.map((r) => r.group);
  }

  /** Join every handler's group. */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new InvalidArgumentError(`consumer is already ${this.state}`);
    this.state = 'running';
    for (const r of this.registered) {
      const subscription = await this.options.transport.subscribe(
        r.group,
        (d) => this.onDelivery(r, d),
        {
          topics: r.handler.on,
          concurrency: r.handler.concurrency ?? this.options.concurrency ?? 1,
          prefetch: this.options.prefetch ?? 100,
        },
      );
      this.subscriptions.push(subscription);
    }
    this.logger.info({ groups: this.groups }, 'consumer started');
  }

  /**
   * Stop taking deliveries and drain: in-flight handlings finish, or are aborted through
   * `context.signal` once `deadlineMs` passes (their deliveries are then redelivered).
   * @throws ShutdownTimeoutError when handlings were still running at the deadline
   */
  async stop(options: StopOptions = {}): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    const deadlineMs = options.deadlineMs ?? 10_000;
    let timedOut = 0;
    const timer = setTimeout(() => {
      timedOut = this.inFlight;
      this.shutdown.abort(new ShutdownTimeoutError(deadlineMs, this.inFlight));
    }, deadlineMs);
    try {
      await Promise.all(this.subscriptions.map((s) => s.close()));
    } finally {
      clearTimeout(timer);
    }
    this.logger.info({ timedOut }, 'consumer stopped');
    if (timedOut > 0) throw new ShutdownTimeoutError(deadlineMs, timedOut);
  }

  /**
   * Re-run dead letters through their handler, oldest first, removing each that succeeds.
   * When one fails, later dead letters with the same partition key are held back, so a
   * key's events are never handled out of order.
   */
  async redrive(
    filter: { handler?: string; ids?: readonly string[]; type?: string } = {},
  ): Promise<RedriveResult> {
    const result: RedriveResult = { redriven: [], failed: [], heldBack: [] };
    const blocked = new Set<string>();
    for (const entry of await this.deadLetters.list({ ...filter, limit: 100_000 })) {
      const r = this.registered.find((x) => x.handler.name === entry.handler);
      if (!r) {
        result.failed.push({
          id: entry.id,
          code: 'INVALID_CONFIG',
          message: `handler ${entry.handler} is not registered with this consumer`,
        });
        continue;
      }
      const key = `${entry.handler}\u0000${entry.event.partitionkey}`;
      if (blocked.has(key)) {
        result.heldBack.push(entry.id);
        continue;
      }
      try {
        await r.direct(entry.event, this.context(r, entry.event, 1, entry.origin));
        await this.deadLetters.remove([entry.id]);
        result.redriven.push(entry.id);
      } catch (error) {
        blocked.add(key);
        const { code, message } = describeFailure(error, {
          handler: entry.handler,
          eventId: entry.event.id,
        });
        result.failed.push({ id: entry.id, code, message });
      }
    }
    return result;
  }

  private buildChains(
    handler: EventHandler,
    policy: RetryPolicy,
  ): { chain: HandleFn; direct: HandleFn } {
    const invoke: HandleFn = async (event, context) => {
      await handler.handle(event, context);
    };
    const inner: Middleware[] = [idempotency(this.processed, handler.transactional ?? false)];
    if (this.options.schemas && !handler.raw) inner.push(upcast(this.options.schemas));
    const outer: Middleware[] = [
      tracing(this.options.tracer ?? trace.getTracer('eventfabric')),
      metrics(this.metrics),
      deadLetter(this.deadLetters, {
        onDeadLetter: (entry, ctx) => {
          this.metrics.deadLettered.inc({ handler: ctx.handler, reason: entry.reason });
          ctx.logger.error({ deadLetter: entry.id, error: entry.error }, 'event dead-lettered');
        },
      }),
      retry(policy, {
        onRetry: (ctx, delayMs, error) => {
          this.metrics.retried.inc({ handler: ctx.handler });
          ctx.logger.warn(
            { attempt: ctx.attempt, delayMs, err: error },
            'handler failed; retry scheduled',
          );
        },
      }),
    ];
    const compose = (middleware: Middleware[]): HandleFn =>
      middleware.reduceRight((next, m) => m(next), invoke);
    return { chain: compose([...outer, ...inner]), direct: compose(inner) };
  }

  private context(
    r: Registered,
    event: CloudEvent,
    attempt: number,
    origin: string,
  ): HandlingContext {
    return new HandlingContext(
      r.handler.name,
      r.group,
      origin,
      attempt,
      event,
      event.traceparent,
      this.logger.child({ handler: r.handler.name, eventId: event.id, type: event.type }),
      this.shutdown.signal,
      {
        source: this.options.source ?? `/${this.options.service}`,
        transport: this.options.transport,
        store: this.options.store,
        validate: this.options.schemas ? (e) => this.options.schemas!.validate(e) : undefined,
      },
    );
  }

  private async onDelivery(r: Registered, delivery: Delivery): Promise<void> {
    this.inFlight++;
    try {
      if (delivery.deliveryCount > r.policy.maxAttempts) {
        await this.quarantine(r, delivery);
        await delivery.ack();
        return;
      }
      await r.chain(
        delivery.event,
        this.context(r, delivery.event, delivery.deliveryCount, delivery.origin),
      );
      await delivery.ack();
    } catch (error) {
      if (error instanceof ScheduledRetry) {
        await delivery.nack({ delayMs: error.delayMs });
        return;
      }
      // The dead-letter store itself failed: keep the event, try again later.
      this.logger.error(
        { err: error, eventId: delivery.event.id, group: r.group },
        'delivery failed outside the handler',
      );
      await delivery.nack({
        delayMs: backoffDelay(r.policy, Math.min(delivery.deliveryCount, r.policy.maxAttempts)),
      });
    } finally {
      this.inFlight--;
    }
  }

  /** Its consumer kept dying on this event: park it with what is known, and move on. */
  private async quarantine(r: Registered, delivery: Delivery): Promise<void> {
    const now = new Date();
    const note = await this.deadLetters.noteFailure(r.handler.name, delivery.event.id, now);
    const error = new PoisonMessageError(
      delivery.event.id,
      delivery.deliveryCount,
      r.policy.maxAttempts,
    );
    const entry = await this.deadLetters.add({
      handler: r.handler.name,
      group: r.group,
      origin: delivery.origin,
      reason: 'poison',
      event: delivery.event,
      error: { code: error.code, message: error.message, details: error.details },
      attempts: delivery.deliveryCount,
      firstFailedAt: note.firstFailedAt,
      lastFailedAt: now.toISOString(),
    });
    await this.deadLetters.clearFailures(r.handler.name, delivery.event.id);
    this.metrics.processed.inc({ handler: r.handler.name, outcome: 'quarantined' });
    this.metrics.deadLettered.inc({ handler: r.handler.name, reason: 'poison' });
    this.logger.error(
      { deadLetter: entry.id, eventId: delivery.event.id, deliveries: delivery.deliveryCount },
      'poison event quarantined',
    );
  }
}

/** Create a consumer; call `start()` to begin. */
export function createConsumer(options: ConsumerOptions): Consumer {
  return new Consumer(options);
}
