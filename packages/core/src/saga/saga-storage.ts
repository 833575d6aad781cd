import type { CloudEvent } from '../envelope/index.js';
import type { ScheduledMessageStore } from '../schedule/index.js';

/** Where an instance stands. `compensated` instances failed and had their steps undone. */
export type SagaStatus = 'running' | 'completed' | 'compensated';

/** One line of an instance's history: what happened, and the event that made it happen. */
export interface SagaHistoryEntry {
  at: string;
  what:
    | 'started'
    | 'step-started'
    | 'step-completed'
    | 'step-failed'
    | 'step-timed-out'
    | 'compensated'
    | 'failed'
    | 'completed';
  /** The step concerned, when there is one. */
  step?: string;
  /** The run of the step (1 for the first, more after retries). */
  run?: number;
  reason?: string;
  /** The event handled: its id, type and position in the log. */
  event: { id: string; type: string; position: string | undefined };
}

/** A saga instance, as stored. */
export interface SagaInstance<S = unknown> {
  saga: string;
  /** The correlation id that binds its events. */
  id: string;
  status: SagaStatus;
  /** The index of the step it is at (for a finished instance, the step it ended on). */
  step: number;
  /** The run of that step, from 1. */
  run: number;
  state: S;
  history: SagaHistoryEntry[];
  /** Why it was compensated. */
  failure: { step: string; reason: string; at: string } | undefined;
  startedAt: string;
  updatedAt: string;
}

/** A saga's progress through the log. */
export interface SagaCheckpoint {
  saga: string;
  /** Position of the last event handled; undefined before the first. */
  position: string | undefined;
  /** The last failure handling a batch, cleared by the next success. */
  lastError: { message: string; at: string; position: string | undefined } | undefined;
}

/** A filter for {@link SagaStorage.instances}. */
export interface SagaInstanceQuery {
  saga?: string;
  status?: SagaStatus;
  /** @defaultValue 100 */
  limit?: number;
}

/**
 * What the saga daemon needs of a database: transactions in which an instance's state, the
 * messages it sends (appended to the log, the outbox), the timeouts it schedules and the
 * checkpoint commit together. The SQLite and PostgreSQL packages implement it in the store's
 * database.
 */
export interface SagaStorage<Tx = unknown> {
  /** Run `work` in one transaction on the store's database; commit when it resolves. */
  transaction<T>(work: (tx: Tx) => Promise<T>): Promise<T>;
  /** The saga's checkpoint (position undefined for a saga never run). */
  checkpoint(saga: string): Promise<SagaCheckpoint>;
  /**
   * In `tx`: move the checkpoint from `from` to `to` and clear the last error.
   * @throws SagaCheckpointMovedError when the checkpoint is not at `from` (another daemon moved it)
   */
  advance(tx: Tx, saga: string, from: string | undefined, to: string): Promise<void>;
  /** Record a failure (outside any transaction). */
  fail(saga: string, error: NonNullable<SagaCheckpoint['lastError']>): Promise<void>;
  /** The instance, or undefined, in `tx`. */
  load(tx: Tx, saga: string, id: string): Promise<SagaInstance | undefined>;
  /** Insert or replace the instance, in `tx`. */
  save(tx: Tx, instance: SagaInstance): Promise<void>;
  /** Append events, each to its stream (`subject`), in order, in `tx`. */
  append(tx: Tx, events: readonly CloudEvent[]): Promise<void>;
  /** Schedule `event` for `dueAt` (ms since the epoch) in `tx`; an id already scheduled is kept. */
  schedule(tx: Tx, event: CloudEvent, dueAt: number): Promise<void>;
  /** Remove a scheduled event not yet claimed, in `tx`. */
  unschedule(tx: Tx, id: string): Promise<void>;
  /** The scheduled messages `schedule` writes to, for the scheduler that delivers them. */
  readonly scheduled: ScheduledMessageStore;
  /** Append due events to the log, outside any transaction (what the scheduler delivers). */
  deliver(events: readonly CloudEvent[]): Promise<void>;
  /** Instances, most recently updated first. */
  instances(query?: SagaInstanceQuery): Promise<SagaInstance[]>;
  /** One instance, or undefined. */
  instance(saga: string, id: string): Promise<SagaInstance | undefined>;
}

/**
 * Thrown by {@link SagaStorage.advance} when the checkpoint is not where the daemon found it:
 * another daemon handled the batch. The daemon rolls back and follows from the new
 * checkpoint; it never reaches a caller.
 */
export class SagaCheckpointMovedError extends Error {
  constructor(readonly saga: string) {
    super(`saga ${saga}: the checkpoint moved under this daemon`);
    this.name = 'SagaCheckpointMovedError';
  }
}
