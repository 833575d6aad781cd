import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { normalizeEvent, type CloudEvent } from '../envelope/index.js';
import { InvalidArgumentError } from '../errors/index.js';
import type { Logger } from '../consumer/handler.js';
import { silentLogger } from '../consumer/silent-logger.js';
import type { ScheduledMessageStore } from './scheduled-messages.js';

/** When a scheduled event is due: at a time, or after a delay from now. */
export type ScheduleAt = { at: Date | number } | { delayMs: number };

/** Options for {@link startScheduler}. */
export interface SchedulerOptions {
  storage: ScheduledMessageStore;
  /**
   * Deliver due events: append them to the log (`store.appendMany`) or publish them
   * (`transport.publish`). It must be idempotent by event id, as both are: a scheduler that
   * dies between delivering and recording the delivery delivers again.
   */
  deliver: (events: CloudEvent[]) => Promise<unknown>;
  /** Longest sleep between looks at the storage, in ms (other processes' schedules). @defaultValue 1000 */
  pollMs?: number;
  /** How long a claim lasts before another scheduler may take the event. @defaultValue 30000 */
  leaseMs?: number;
  /** Events claimed and delivered at once. @defaultValue 100 */
  batchSize?: number;
  owner?: string;
  logger?: Logger;
}

/** A running scheduler: it schedules, and delivers what falls due. */
export interface Scheduler {
  /**
   * Durably schedule `event`; it is delivered when due, by this scheduler or another on the
   * same storage, even after restarts. Scheduling an event again (same id) keeps the first.
   * @throws InvalidEventError for a malformed event, InvalidArgumentError for a bad time;
   *   nothing is stored
   */
  schedule(event: CloudEvent, when: ScheduleAt): Promise<void>;
  /** Cancel an event not yet being delivered; false when none was waiting. */
  cancel(id: string): Promise<boolean>;
  /** Look at the storage now: an event was scheduled there other than through `schedule`. */
  wake(): void;
  /** Events this scheduler delivered. */
  readonly delivered: number;
  /** Finish the delivery in hand and stop. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Deliver scheduled events when they fall due: durable delayed messages. Several schedulers
 * may share one storage; each due event is claimed by one, and a claim not completed (its
 * scheduler died) is taken over after `leaseMs`. Delivery is at least once, made exactly
 * once in effect by the idempotent destination (event ids are fixed when scheduled).
 */
export async function startScheduler(options: SchedulerOptions): Promise<Scheduler> {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidArgumentError('startScheduler needs an options object');
  }
  if (typeof options.deliver !== 'function') {
    throw new InvalidArgumentError('startScheduler needs a deliver function');
  }
  if (typeof options.storage?.claimDue !== 'function') {
    throw new InvalidArgumentError('startScheduler needs a scheduled message store');
  }
  const scheduler = new PollingScheduler(options);
  scheduler.start();
  return scheduler;
}

class PollingScheduler implements Scheduler {
  delivered = 0;
  private readonly owner: string;
  private readonly pollMs: number;
  private readonly leaseMs: number;
  private readonly batchSize: number;
  private readonly logger: Logger;
  private stopped = false;
  private loop: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: SchedulerOptions) {
    this.owner = options.owner ?? `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
    this.pollMs = positive(options.pollMs, 1000, 'pollMs');
    this.leaseMs = positive(options.leaseMs, 30_000, 'leaseMs');
    this.batchSize = positive(options.batchSize, 100, 'batchSize');
    this.logger = options.logger ?? silentLogger;
  }

  start(): void {
    this.loop = this.run();
  }

  async schedule(event: CloudEvent, when: ScheduleAt): Promise<void> {
    if (this.stopped) throw new InvalidArgumentError('the scheduler is stopped');
    const normalized = normalizeEvent(event, { allowForeignTypes: true });
    const dueAt = dueTime(when);
    await this.options.storage.schedule(normalized, dueAt);
    this.wake();
  }

  cancel(id: string): Promise<boolean> {
    if (typeof id !== 'string' || id === '') {
      throw new InvalidArgumentError('cancel needs an event id');
    }
    return this.options.storage.cancel(id);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake();
    await this.loop;
  }

  wake(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const resolve = this.wakeUp;
    this.wakeUp = undefined;
    resolve?.();
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      try {
        const due = await this.options.storage.claimDue(
          Date.now(),
          this.batchSize,
          this.owner,
          this.leaseMs,
        );
        if (due.length > 0) {
          await this.options.deliver(due.map((d) => d.event));
          await Promise.all(due.map((d) => this.options.storage.complete(d.id, this.owner)));
          this.delivered += due.length;
          failures = 0;
          continue;
        }
        const next = await this.options.storage.nextDue();
        const wait = next === undefined ? this.pollMs : Math.max(1, next - Date.now());
        await this.sleep(Math.min(this.pollMs, wait));
        failures = 0;
      } catch (error) {
        failures++;
        // Claims not completed come back after their lease: nothing is lost.
        this.logger.warn({ err: error, failures }, 'scheduler round failed; trying again');
        await this.sleep(Math.min(5000, 100 * 2 ** failures));
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      this.wakeUp = resolve;
      this.timer = setTimeout(() => this.wake(), ms);
    });
  }
}

function dueTime(when: ScheduleAt): number {
  if (typeof when !== 'object' || when === null) {
    throw new InvalidArgumentError('schedule needs { at } or { delayMs }');
  }
  if ('delayMs' in when) {
    const delay = when.delayMs;
    if (typeof delay !== 'number' || !Number.isFinite(delay) || delay < 0) {
      throw new InvalidArgumentError('delayMs must be a finite number of milliseconds, 0 or more', {
        delayMs: delay as never,
      });
    }
    return Date.now() + delay;
  }
  const at = when.at instanceof Date ? when.at.getTime() : when.at;
  if (typeof at !== 'number' || !Number.isFinite(at)) {
    throw new InvalidArgumentError('at must be a Date or a time in ms since the epoch', {
      at: String(when.at),
    });
  }
  return at;
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
