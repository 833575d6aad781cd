import type { StoredEvent } from '../envelope/index.js';
import { InvalidArgumentError } from '../errors/index.js';
import { compileTopicPattern, topicPrefixes } from '../transport/topic-pattern.js';

/** A command or event a saga sends: appended to the log (the outbox) with the saga's state. */
export interface SagaMessage<T = unknown> {
  type: string;
  data: T;
  /**
   * The stream it is appended to; the consumers of its type receive it from the log.
   * @defaultValue the saga instance's own stream, `saga-<name>-<instance>`
   */
  stream?: string;
  /** @defaultValue `/eventfabric/saga/<name>` */
  source?: string;
  /** @defaultValue the stream */
  partitionkey?: string;
}

/** What a saga's code gets: its instance's state, and a way to send. */
export interface SagaContext<S> {
  /** The saga's name. */
  readonly saga: string;
  /** The instance id: the correlation id of the event that started it. */
  readonly instance: string;
  /** The instance's state: change it in place; it is saved with what the step sends. */
  state: S;
  /** The event being handled (for a timeout, the timeout event). */
  readonly event: StoredEvent;
  /**
   * Send a command or event. It carries the instance id as its `correlationid` (so replies,
   * built from it with `createEvent({ parent })`, come back to this instance), the handled
   * event as its cause, and an id derived from both: sending again after a crash stores
   * nothing new.
   */
  send<T>(message: SagaMessage<T>): void;
}

/** What a handler in `on` can do besides sending. */
export interface SagaEventContext<S> extends SagaContext<S> {
  /** Fail the instance for good: compensate the completed steps, in reverse order. */
  fail(reason: string): void;
  /** End the instance as completed, whatever step it is at. */
  complete(): void;
}

/** One step: send a command, then wait for its reply. */
export interface SagaStep<S> {
  /** Unique within the saga; lower-case letters, digits, `_` and `-`. */
  name: string;
  /** Send the step's command(s). Runs when the step starts, and again for each retry. */
  run(context: SagaContext<S>): void | Promise<void>;
  /**
   * Event types (or patterns) whose arrival, correlated to the instance, completes the
   * step. Without any, the step completes as soon as `run` has sent its messages.
   */
  completedBy?: readonly string[];
  /** Event types (or patterns) whose arrival means the step failed. */
  failedBy?: readonly string[];
  /** Update the state from the completing reply. */
  onCompleted?(event: StoredEvent, context: SagaContext<S>): void | Promise<void>;
  /**
   * How long to wait for a reply before the step times out, in ms. The timeout is a durable
   * scheduled message: it fires after a process restart.
   */
  timeoutMs?: number;
  /** Runs of the step after the first, on a failure or timeout, before giving up. @defaultValue 0 */
  retries?: number;
  /**
   * The types `run` and `compensate` send: not enforced, but read by tools such as an event
   * catalog that lists each saga's commands.
   */
  sends?: readonly string[];
  /**
   * Undo the step: send the compensating command(s). Runs, in reverse order of the steps,
   * for every completed step when a later step fails for good, and for a step whose
   * outcome is unknown because it timed out.
   */
  compensate?(context: SagaContext<S>): void | Promise<void>;
}

/**
 * A saga (process manager): started by an event, it runs its steps one after the other,
 * each sending a command and waiting for the reply; when a step fails for good or times
 * out, it compensates what was done, in reverse order. See {@link defineSaga}.
 */
export interface SagaDefinition<S> {
  /** Lower-case letters, digits and `_`, starting with a letter; at most 24 characters. */
  name: string;
  /** Event types (or patterns) that start an instance. A second start of the same instance is ignored. */
  startedBy: readonly string[];
  /** The instance's initial state, from the starting event. */
  start(event: StoredEvent): S;
  /**
   * The instance an event belongs to, or undefined for none.
   * @defaultValue the event's `correlationid`
   */
  correlate?(event: StoredEvent): string | undefined;
  steps: readonly SagaStep<S>[];
  /**
   * Other events the instance reacts to while it runs (a withdrawal that cancels it, say),
   * keyed by type or pattern.
   */
  on?: Readonly<
    Record<string, (event: StoredEvent, context: SagaEventContext<S>) => void | Promise<void>>
  >;
  /** Runs when an instance completes: send what announces it (in the same transaction). */
  completed?(context: SagaContext<S>): void | Promise<void>;
  /**
   * Runs when an instance ends compensated, after the compensations were sent: send what
   * announces the failure (in the same transaction).
   */
  compensated?(
    context: SagaContext<S>,
    failure: { step: string; reason: string },
  ): void | Promise<void>;
}

/** A definition, checked, with its patterns compiled. */
export interface CompiledSaga<S = unknown> extends SagaDefinition<S> {
  /** Type prefixes covering every type the saga reacts to (its timeouts included). */
  readonly typePrefixes: string[] | undefined;
  /** True when `type` starts an instance. */
  starts(type: string): boolean;
  /** True when the saga reacts to `type` at all. */
  handles(type: string): boolean;
  /** The handlers in `on` for `type`. */
  reactions(
    type: string,
  ): ((event: StoredEvent, context: SagaEventContext<S>) => void | Promise<void>)[];
  /** True when `type` completes (`'completed'`) or fails (`'failed'`) step `index`. */
  replyKind(index: number, type: string): 'completed' | 'failed' | undefined;
}

/** The type of the durable timeout events sagas schedule for themselves. */
export const SAGA_TIMEOUT_TYPE = 'eventfabric.saga.timed-out.v1';

/** What a saga timeout event carries. */
export interface SagaTimeoutData {
  saga: string;
  instance: string;
  /** The index of the step that timed out. */
  step: number;
  /** The run of the step the timeout was set for (1 for the first run). */
  run: number;
}

const NAME = /^[a-z][a-z0-9_]{0,23}$/;
const STEP_NAME = /^[a-z][a-z0-9_-]{0,63}$/;

/**
 * Declare a saga, checked up front.
 * @throws InvalidArgumentError for a malformed name, step, pattern or option
 */
export function defineSaga<S>(definition: SagaDefinition<S>): CompiledSaga<S> {
  if (typeof definition !== 'object' || definition === null) {
    throw new InvalidArgumentError('defineSaga needs a definition object');
  }
  const { name, startedBy, start, correlate, steps, on } = definition;
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new InvalidArgumentError(
      'saga name must be lower-case letters, digits and _, starting with a letter, at most 24 characters',
      { name: String(name) },
    );
  }
  const fail = (message: string, details: Record<string, string> = {}): never => {
    throw new InvalidArgumentError(`saga ${name}: ${message}`, { saga: name, ...details });
  };
  if (typeof start !== 'function') fail('start must be a function');
  for (const hook of ['completed', 'compensated'] as const) {
    if (definition[hook] !== undefined && typeof definition[hook] !== 'function') {
      fail(`${hook} must be a function`);
    }
  }
  if (correlate !== undefined && typeof correlate !== 'function') {
    fail('correlate must be a function');
  }
  const starters = patterns(startedBy, 'startedBy', fail);
  if (starters.length === 0) fail('startedBy needs at least one event type');
  if (!Array.isArray(steps) || steps.length === 0) fail('a saga needs at least one step');
  const stepNames = new Set<string>();
  const replies = steps.map((step, index) => {
    if (typeof step !== 'object' || step === null) fail(`step ${index} is not an object`);
    if (typeof step.name !== 'string' || !STEP_NAME.test(step.name)) {
      fail(`step ${index} needs a name of lower-case letters, digits, _ and -`);
    }
    if (stepNames.has(step.name)) fail(`two steps are named ${step.name}`);
    stepNames.add(step.name);
    if (typeof step.run !== 'function') fail(`step ${step.name} needs a run function`);
    for (const field of ['compensate', 'onCompleted'] as const) {
      if (step[field] !== undefined && typeof step[field] !== 'function') {
        fail(`step ${step.name}: ${field} must be a function`);
      }
    }
    if (
      step.timeoutMs !== undefined &&
      (typeof step.timeoutMs !== 'number' ||
        !Number.isSafeInteger(step.timeoutMs) ||
        step.timeoutMs <= 0)
    ) {
      fail(`step ${step.name}: timeoutMs must be a positive integer`);
    }
    if (
      step.retries !== undefined &&
      (typeof step.retries !== 'number' || !Number.isSafeInteger(step.retries) || step.retries < 0)
    ) {
      fail(`step ${step.name}: retries must be a non-negative integer`);
    }
    if (
      step.sends !== undefined &&
      (!Array.isArray(step.sends) ||
        step.sends.some((t: unknown) => typeof t !== 'string' || t === ''))
    ) {
      fail(`step ${step.name}: sends must be an array of event types`);
    }
    const completedBy = patterns(step.completedBy ?? [], `${step.name}.completedBy`, fail);
    const failedBy = patterns(step.failedBy ?? [], `${step.name}.failedBy`, fail);
    if (completedBy.length === 0 && (failedBy.length > 0 || step.timeoutMs !== undefined)) {
      fail(
        `step ${step.name}: failedBy and timeoutMs need completedBy (a step that waits for a reply)`,
      );
    }
    return { completedBy, failedBy };
  });
  if (on !== undefined && (typeof on !== 'object' || on === null)) fail('on must be an object');
  const reactions = Object.entries(on ?? {}).map(([key, handler]) => {
    if (typeof handler !== 'function') fail(`on["${key}"] is not a function`);
    return { key, handler, matches: compileTopicPattern(key) };
  });
  const every = [
    ...(startedBy as string[]),
    ...steps.flatMap((s) => [...(s.completedBy ?? []), ...(s.failedBy ?? [])]),
    ...reactions.map((r) => r.key),
    SAGA_TIMEOUT_TYPE,
  ];
  const matchesAny = compileAny(every);
  return {
    ...definition,
    typePrefixes: topicPrefixes(every, { anyVersion: true }),
    starts: (type) => starters.some((m) => m(type)),
    handles: matchesAny,
    reactions: (type) => reactions.filter((r) => r.matches(type)).map((r) => r.handler),
    replyKind(index, type) {
      const reply = replies[index];
      if (reply === undefined) return undefined;
      if (reply.completedBy.some((m) => m(type))) return 'completed';
      if (reply.failedBy.some((m) => m(type))) return 'failed';
      return undefined;
    },
  };
}

function patterns(
  list: readonly string[] | undefined,
  field: string,
  fail: (message: string) => never,
): ((type: string) => boolean)[] {
  if (!Array.isArray(list)) return fail(`${field} must be an array of event types`);
  return list.map((pattern) => {
    if (typeof pattern !== 'string' || pattern === '')
      fail(`${field} holds a malformed event type`);
    try {
      return compileTopicPattern(pattern);
    } catch {
      return fail(`${field} holds a malformed pattern: ${pattern}`);
    }
  });
}

function compileAny(list: readonly string[]): (type: string) => boolean {
  const matchers = list.map((p) => compileTopicPattern(p));
  const cache = new Map<string, boolean>();
  return (type) => {
    let hit = cache.get(type);
    if (hit === undefined) {
      hit = matchers.some((m) => m(type));
      cache.set(type, hit);
    }
    return hit;
  };
}
