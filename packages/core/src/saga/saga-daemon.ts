import { createHash } from 'node:crypto';
import { createEvent, type CloudEvent, type StoredEvent } from '../envelope/index.js';
import { InvalidArgumentError, NonRetryableError } from '../errors/index.js';
import type { EventStore, Subscription } from '../event-store/index.js';
import { BatchQueue } from '../event-store/batch-queue.js';
import type { Logger } from '../consumer/handler.js';
import { silentLogger } from '../consumer/silent-logger.js';
import { startScheduler, type Scheduler } from '../schedule/index.js';
import {
  SAGA_TIMEOUT_TYPE,
  type CompiledSaga,
  type SagaContext,
  type SagaEventContext,
  type SagaMessage,
  type SagaStep,
  type SagaTimeoutData,
} from './saga.js';
import {
  SagaCheckpointMovedError,
  type SagaCheckpoint,
  type SagaHistoryEntry,
  type SagaInstance,
  type SagaStorage,
} from './saga-storage.js';

/** A saga of any state type: sagas of different states run side by side. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnySaga = CompiledSaga<any>;

/** Options for {@link startSagas}. */
export interface SagaDaemonOptions<Tx> {
  store: EventStore;
  storage: SagaStorage<Tx>;
  sagas: readonly AnySaga[];
  /** Events per transaction. @defaultValue 100 */
  batchSize?: number;
  /** Longest sleep of the timeout scheduler between looks at the storage, in ms. @defaultValue 1000 */
  timeoutPollMs?: number;
  /** @defaultValue a silent logger */
  logger?: Logger;
}

/** A saga as the daemon runs it. */
export interface SagaRunStatus extends SagaCheckpoint {
  /** Positions between the checkpoint and the log's head, when read. */
  lag: number | undefined;
}

/** Running sagas: see {@link startSagas}. */
export interface SagaDaemon {
  status(): Promise<SagaRunStatus[]>;
  /** Resolves once every saga has handled the log up to `position`. */
  caughtUp(position: string): Promise<void>;
  /** Finish the batch in hand and stop. Idempotent. */
  stop(): Promise<void>;
}

const MAX_BACKOFF_MS = 5000;
/** History kept per instance; beyond it, the oldest entries after the first are dropped. */
const MAX_HISTORY = 500;

/**
 * Run sagas over the log. Each saga follows the log from its checkpoint; a batch of events,
 * the instances they change, the messages those send (appended to the log: the outbox) and
 * the timeouts they schedule commit in one transaction with the checkpoint, so every event
 * is handled exactly once in effect, whatever crashes. Timeouts are durable scheduled
 * messages, delivered into the log by a scheduler this daemon runs: they fire after a
 * restart. A batch that fails (a database error, a bug in a saga) is retried with backoff
 * and recorded as the saga's last error; a step's `run` that throws NonRetryableError fails
 * the step instead.
 *
 * The checkpoint only moves from where the daemon found it, so a second daemon on the same
 * storage cannot apply a batch twice: its transaction fails and it follows from the new
 * checkpoint. Run one per saga set; a second is safe but wasted work.
 * @throws InvalidArgumentError for malformed options, before anything starts
 */
export async function startSagas<Tx>(options: SagaDaemonOptions<Tx>): Promise<SagaDaemon> {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidArgumentError('startSagas needs an options object');
  }
  const sagas = options.sagas;
  if (!Array.isArray(sagas) || sagas.some((s) => typeof s?.handles !== 'function')) {
    throw new InvalidArgumentError('sagas must be an array of defineSaga() results');
  }
  if (new Set(sagas.map((s) => s.name)).size !== sagas.length) {
    throw new InvalidArgumentError('two sagas share a name');
  }
  if (typeof options.storage?.transaction !== 'function') {
    throw new InvalidArgumentError('startSagas needs a saga storage');
  }
  const batchSize = options.batchSize ?? 100;
  if (!Number.isSafeInteger(batchSize) || batchSize <= 0) {
    throw new InvalidArgumentError('batchSize must be a positive integer', {
      batchSize: batchSize as never,
    });
  }
  const logger = options.logger ?? silentLogger;
  const scheduler = sagas.some((s: AnySaga) =>
    s.steps.some((step: SagaStep<unknown>) => step.timeoutMs !== undefined),
  )
    ? await startScheduler({
        storage: options.storage.scheduled,
        deliver: (events) => options.storage.deliver(events),
        ...(options.timeoutPollMs === undefined ? {} : { pollMs: options.timeoutPollMs }),
        logger: logger.child({ component: 'saga-timeouts' }),
      })
    : undefined;
  const runners = sagas.map(
    (saga) =>
      new SagaRunner(
        saga as CompiledSaga<unknown>,
        options.store,
        options.storage,
        batchSize,
        scheduler,
        logger.child({ saga: saga.name }),
      ),
  );
  await Promise.all(runners.map((r) => r.start()));
  return {
    status: () => Promise.all(runners.map((r) => r.status())),
    caughtUp: async (position) => {
      await Promise.all(runners.map((r) => r.caughtUp(position)));
    },
    stop: async () => {
      await Promise.all(runners.map((r) => r.stop()));
      await scheduler?.stop();
    },
  };
}

/** What handling one event decided, before it is written. */
interface Outcome {
  instance: SagaInstance;
  messages: CloudEvent[];
  schedule: { event: CloudEvent; dueAt: number }[];
  unschedule: string[];
}

class SagaRunner<Tx> {
  private position: string | undefined;
  private lastError: SagaCheckpoint['lastError'];
  private subscription: Subscription | undefined;
  private readonly queue: BatchQueue<StoredEvent>;
  private stopped = false;
  private waiters: { position: bigint; resolve: () => void }[] = [];

  constructor(
    readonly saga: CompiledSaga<unknown>,
    private readonly store: EventStore,
    private readonly storage: SagaStorage<Tx>,
    private readonly batchSize: number,
    private readonly scheduler: Scheduler | undefined,
    private readonly logger: Logger,
  ) {
    this.queue = new BatchQueue(batchSize, (batch) => this.apply(batch));
  }

  async start(): Promise<void> {
    const checkpoint = await this.storage.checkpoint(this.saga.name);
    this.position = checkpoint.position;
    this.lastError = checkpoint.lastError;
    this.follow();
  }

  async status(): Promise<SagaRunStatus> {
    const head = Number(await this.store.headPosition().catch(() => NaN));
    return {
      saga: this.saga.name,
      position: this.position,
      lastError: this.lastError,
      lag: Number.isFinite(head) ? Math.max(0, head - Number(this.position ?? 0)) : undefined,
    };
  }

  /**
   * Resolves when every event up to `position` that this saga handles is handled: the
   * checkpoint only moves on such events, so the log is read to find whether any waits.
   */
  async caughtUp(position: string): Promise<void> {
    const target = BigInt(position);
    for (;;) {
      if (this.position !== undefined && BigInt(this.position) >= target) return;
      if (!(await this.anyPendingUpTo(target))) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 50);
        this.waiters.push({
          position: target,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        });
      });
    }
  }

  private async anyPendingUpTo(target: bigint): Promise<boolean> {
    let after = this.position;
    for (;;) {
      const page = await this.store.readAll({
        after,
        typePrefixes: this.saga.typePrefixes,
        limit: 500,
        raw: true,
      });
      for (const event of page) {
        if (BigInt(event.position!) > target) return false;
        if (this.saga.handles(event.type)) return true;
      }
      if (page.length < 500) return false;
      after = page[page.length - 1]!.position;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.subscription?.stop();
    await this.queue.flush();
  }

  private follow(): void {
    this.subscription = this.store.subscribe({
      after: this.position,
      typePrefixes: this.saga.typePrefixes,
      batchSize: this.batchSize,
      handler: (event) => this.take(event),
    });
    this.subscription.done.catch((error: unknown) =>
      this.logger.error({ err: error }, 'saga subscription failed'),
    );
  }

  private take(event: StoredEvent): Promise<void> | void {
    if (!this.saga.handles(event.type)) return;
    return this.queue.push(event);
  }

  /** Handle a batch and move the checkpoint in one transaction, retrying until it commits. */
  private async apply(batch: StoredEvent[]): Promise<void> {
    // Events at or before the checkpoint were handled by an earlier run (or another daemon).
    const from = this.position;
    const fresh = batch.filter((e) => from === undefined || BigInt(e.position!) > BigInt(from));
    if (fresh.length === 0) return;
    const last = fresh[fresh.length - 1]!.position!;
    for (let attempt = 1; ; attempt++) {
      let scheduled = false;
      try {
        await this.storage.transaction(async (tx) => {
          const instances = new Map<string, SagaInstance | undefined>();
          for (const event of fresh) {
            const outcome = await this.handle(tx, event, instances);
            if (outcome === undefined) continue;
            instances.set(outcome.instance.id, outcome.instance);
            await this.storage.save(tx, outcome.instance);
            if (outcome.messages.length > 0) await this.storage.append(tx, outcome.messages);
            for (const id of outcome.unschedule) await this.storage.unschedule(tx, id);
            for (const timeout of outcome.schedule) {
              await this.storage.schedule(tx, timeout.event, timeout.dueAt);
              scheduled = true;
            }
          }
          await this.storage.advance(tx, this.saga.name, from, last);
        });
        this.position = last;
        this.lastError = undefined;
        if (scheduled) this.scheduler?.wake();
        this.release();
        return;
      } catch (error) {
        if (error instanceof SagaCheckpointMovedError) {
          await this.resync();
          return;
        }
        const at = new Date().toISOString();
        this.lastError = { message: (error as Error).message ?? String(error), at, position: last };
        this.logger.error({ err: error, attempt }, 'saga batch failed; retrying');
        await this.storage.fail(this.saga.name, this.lastError).catch(() => undefined);
        if (this.stopped) return;
        await new Promise((resolve) =>
          setTimeout(resolve, Math.min(MAX_BACKOFF_MS, 100 * 2 ** (attempt - 1))),
        );
      }
    }
  }

  /** Another daemon moved the checkpoint: drop what is buffered and follow from there. */
  private async resync(): Promise<void> {
    this.logger.warn({}, 'saga checkpoint moved under this daemon; following from it');
    const subscription = this.subscription;
    this.queue.clear();
    void subscription?.stop();
    const checkpoint = await this.storage.checkpoint(this.saga.name);
    this.position = checkpoint.position;
    this.release();
    if (!this.stopped) this.follow();
  }

  private release(): void {
    if (this.position === undefined) return;
    const at = BigInt(this.position);
    const ready = this.waiters.filter((w) => w.position <= at);
    this.waiters = this.waiters.filter((w) => w.position > at);
    for (const w of ready) w.resolve();
  }

  /** Decide what `event` does to its instance; undefined when it does nothing. */
  private async handle(
    tx: Tx,
    event: StoredEvent,
    seen: Map<string, SagaInstance | undefined>,
  ): Promise<Outcome | undefined> {
    const load = async (id: string): Promise<SagaInstance | undefined> =>
      seen.has(id) ? seen.get(id) : this.storage.load(tx, this.saga.name, id);

    if (event.type === SAGA_TIMEOUT_TYPE) {
      const data = event.data as SagaTimeoutData | undefined;
      if (data?.saga !== this.saga.name) return undefined;
      const instance = await load(data.instance);
      if (
        instance?.status !== 'running' ||
        instance.step !== data.step ||
        instance.run !== data.run
      ) {
        return undefined; // the step was answered, retried or compensated meanwhile
      }
      const work = new Work(this.saga, structuredClone(instance), event);
      await work.stepFailed('step-timed-out', 'timed out', true);
      return work.outcome();
    }

    const id = this.saga.correlate ? this.saga.correlate(event) : event.correlationid;
    if (typeof id !== 'string' || id === '') return undefined;
    const stored = await load(id);
    if (stored === undefined) {
      if (!this.saga.starts(event.type)) return undefined;
      const now = new Date().toISOString();
      const instance: SagaInstance = {
        saga: this.saga.name,
        id,
        status: 'running',
        step: 0,
        run: 1,
        state: this.saga.start(event),
        history: [],
        failure: undefined,
        startedAt: now,
        updatedAt: now,
      };
      const work = new Work(this.saga, instance, event);
      work.record('started');
      await work.startStep(0, 1);
      return work.outcome();
    }
    if (stored.status !== 'running') return undefined;
    const work = new Work(this.saga, structuredClone(stored), event);
    const kind = this.saga.replyKind(stored.step, event.type);
    if (kind === 'completed') await work.stepCompleted();
    else if (kind === 'failed') await work.stepFailed('step-failed', failureReason(event), false);
    for (const reaction of this.saga.reactions(event.type)) {
      if (work.instance.status !== 'running') break;
      await work.react(reaction);
    }
    return work.changed ? work.outcome() : undefined;
  }
}

/** One event's effect on one instance: the state it leaves and what it sends. */
class Work {
  changed = false;
  private readonly messages: CloudEvent[] = [];
  private readonly schedule: Outcome['schedule'] = [];
  private readonly unschedule: string[] = [];

  constructor(
    private readonly saga: CompiledSaga<unknown>,
    readonly instance: SagaInstance,
    private readonly event: StoredEvent,
  ) {}

  outcome(): Outcome {
    this.instance.updatedAt = new Date().toISOString();
    return {
      instance: this.instance,
      messages: this.messages,
      schedule: this.schedule,
      unschedule: this.unschedule,
    };
  }

  record(what: SagaHistoryEntry['what'], extra: Partial<SagaHistoryEntry> = {}): void {
    this.changed = true;
    const { id, type, position } = this.event;
    const history = this.instance.history;
    history.push({ at: new Date().toISOString(), what, ...extra, event: { id, type, position } });
    if (history.length > MAX_HISTORY) history.splice(1, history.length - MAX_HISTORY);
  }

  /** Run step `index` (its `run`-th time), or complete the instance past the last step. */
  async startStep(index: number, run: number): Promise<void> {
    const step = this.saga.steps[index];
    if (step === undefined) {
      await this.complete();
      return;
    }
    this.instance.step = index;
    this.instance.run = run;
    const sent = this.messages.length;
    try {
      await step.run(this.context());
    } catch (error) {
      if (!(error instanceof NonRetryableError)) throw error;
      this.messages.length = sent; // what a failed run sent is not sent
      this.record('step-started', { step: step.name, run });
      await this.stepFailed('step-failed', error.message, false);
      return;
    }
    this.record('step-started', { step: step.name, run });
    if ((step.completedBy ?? []).length === 0) {
      this.record('step-completed', { step: step.name, run });
      await this.startStep(index + 1, 1);
      return;
    }
    if (step.timeoutMs !== undefined) {
      const timeout = this.timeoutEvent(index, run);
      this.schedule.push({ event: timeout, dueAt: Date.now() + step.timeoutMs });
    }
  }

  async stepCompleted(): Promise<void> {
    const { step: index, run } = this.instance;
    const step = this.saga.steps[index]!;
    if (step.timeoutMs !== undefined) this.unschedule.push(timeoutId(this.instance, index, run));
    await step.onCompleted?.(this.event, this.context());
    this.record('step-completed', { step: step.name, run });
    await this.startStep(index + 1, 1);
  }

  /**
   * The current step failed (`timedOut`: its outcome is unknown). Run it again while it has
   * retries left; else compensate, in reverse order, the completed steps and, when its
   * outcome is unknown, the step itself.
   */
  async stepFailed(
    what: 'step-failed' | 'step-timed-out',
    reason: string,
    outcomeUnknown: boolean,
  ): Promise<void> {
    const { step: index, run } = this.instance;
    const step = this.saga.steps[index]!;
    if (step.timeoutMs !== undefined && what !== 'step-timed-out') {
      this.unschedule.push(timeoutId(this.instance, index, run));
    }
    this.record(what, { step: step.name, run, reason });
    if (run <= (step.retries ?? 0)) {
      await this.startStep(index, run + 1);
      return;
    }
    await this.compensate(step.name, reason, outcomeUnknown ? index : index - 1);
  }

  async react(
    reaction: (event: StoredEvent, context: SagaEventContext<unknown>) => void | Promise<void>,
  ): Promise<void> {
    let outcome: { fail: string } | 'complete' | undefined;
    const before = JSON.stringify(this.instance.state);
    await reaction(this.event, {
      ...this.context(),
      fail: (reason) => {
        outcome = { fail: String(reason) };
      },
      complete: () => {
        outcome = 'complete';
      },
    });
    if (JSON.stringify(this.instance.state) !== before) this.changed = true;
    if (outcome === 'complete') {
      this.cancelTimeout();
      await this.complete();
    } else if (outcome !== undefined) {
      const { step: index } = this.instance;
      const step = this.saga.steps[index]!;
      this.cancelTimeout();
      this.record('step-failed', { step: step.name, run: this.instance.run, reason: outcome.fail });
      // The step's command is in flight: its outcome is unknown, so it is compensated too.
      await this.compensate(step.name, outcome.fail, index);
    }
  }

  private async complete(): Promise<void> {
    this.instance.status = 'completed';
    await this.saga.completed?.(this.context());
    this.record('completed');
  }

  private cancelTimeout(): void {
    const { step: index, run } = this.instance;
    if (this.saga.steps[index]?.timeoutMs !== undefined) {
      this.unschedule.push(timeoutId(this.instance, index, run));
    }
  }

  /** Compensate steps `through` down to 0, then end the instance as compensated. */
  private async compensate(failedStep: string, reason: string, through: number): Promise<void> {
    for (let index = through; index >= 0; index--) {
      const step = this.saga.steps[index]!;
      if (step.compensate === undefined) continue;
      await step.compensate(this.context());
      this.record('compensated', { step: step.name });
    }
    this.instance.status = 'compensated';
    this.instance.failure = { step: failedStep, reason, at: new Date().toISOString() };
    await this.saga.compensated?.(this.context(), { step: failedStep, reason });
    this.record('failed', { step: failedStep, reason });
  }

  private context(): SagaContext<unknown> {
    const instance = this.instance;
    return {
      saga: this.saga.name,
      instance: instance.id,
      event: this.event,
      get state() {
        return instance.state;
      },
      set state(value: unknown) {
        instance.state = value;
      },
      send: (message) => {
        this.messages.push(this.message(message));
        this.changed = true;
      },
    };
  }

  private message(message: SagaMessage): CloudEvent {
    if (typeof message !== 'object' || message === null || typeof message.type !== 'string') {
      throw new InvalidArgumentError(`saga ${this.saga.name}: send needs { type, data }`);
    }
    const subject = message.stream ?? sagaStream(this.saga.name, this.instance.id);
    return createEvent({
      type: message.type,
      source: message.source ?? `/eventfabric/saga/${this.saga.name}`,
      subject,
      data: message.data,
      parent: this.parent(),
      ...(message.partitionkey === undefined ? {} : { partitionkey: message.partitionkey }),
    });
  }

  private timeoutEvent(step: number, run: number): CloudEvent {
    const data: SagaTimeoutData = { saga: this.saga.name, instance: this.instance.id, step, run };
    return createEvent({
      id: timeoutId(this.instance, step, run),
      type: SAGA_TIMEOUT_TYPE,
      source: `/eventfabric/saga/${this.saga.name}`,
      subject: sagaStream(this.saga.name, this.instance.id),
      data,
      parent: this.parent(),
    });
  }

  /** Messages correlate to the instance, whatever the handled event's own correlation. */
  private parent() {
    const { id, traceparent, tracestate, tenantid } = this.event;
    return {
      id,
      correlationid: this.instance.id,
      ...(traceparent === undefined ? {} : { traceparent }),
      ...(tracestate === undefined ? {} : { tracestate }),
      ...(tenantid === undefined ? {} : { tenantid }),
    };
  }
}

/** The stream a saga instance's own messages and timeouts go to. */
export function sagaStream(saga: string, instance: string): string {
  return `saga-${saga}-${instance}`;
}

/** One id per (instance, step, run): scheduling a timeout again keeps the first. */
function timeoutId(instance: Pick<SagaInstance, 'saga' | 'id'>, step: number, run: number): string {
  const hash = createHash('sha256')
    .update(`${instance.saga}\u0000${instance.id}\u0000${step}\u0000${run}`)
    .digest('hex');
  return `saga-timeout-${hash.slice(0, 32)}`;
}

/** The reason a failure reply gives (`data.reason`, `data.error`), else its type. */
function failureReason(event: StoredEvent): string {
  const data = event.data as { reason?: unknown; error?: unknown } | null | undefined;
  const reason = data?.reason ?? data?.error;
  return typeof reason === 'string' && reason !== '' ? reason : event.type;
}
