import type { Span } from '@opentelemetry/api';
import type { CloudEvent } from '../envelope/index.js';
import type { AppendOptions, AppendResult } from '../event-store/index.js';
import type { RetryPolicy } from './retry-policy.js';

/** The logger a handler gets: pino's shape, so a pino instance fits as is. */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

/** A follow-up event a handler emits; correlation, causation, trace and tenant are stamped. */
export interface FollowUpEvent<T = unknown> {
  type: string;
  subject: string;
  data: T;
  /** @defaultValue the consumer's source */
  source?: string;
  partitionkey?: string;
}

/** What a handler receives next to the event. */
export interface HandlerContext {
  /** The handler's name. */
  readonly handler: string;
  /** The consumer group it runs in: `<service>.<handler>`. */
  readonly group: string;
  /** This attempt's number, from 1; deliveries lost to crashes count too. */
  readonly attempt: number;
  /** The W3C traceparent of this handling; follow-up events continue it. */
  readonly traceparent: string;
  /** The OpenTelemetry span around this handling (non-recording without an SDK). */
  readonly span: Span | undefined;
  readonly logger: Logger;
  /** Aborted when graceful shutdown's deadline passes: stop work and throw. */
  readonly signal: AbortSignal;
  /**
   * The transaction this handling runs in, when the handler is `transactional` and the
   * idempotency store provides one (for SQLite, the better-sqlite3 `Database`). Writes made
   * through it commit together with the processed-event record.
   */
  readonly tx: unknown;
  /** Build a follow-up event caused by the one being handled. */
  createEvent<T>(event: FollowUpEvent<T>): CloudEvent<T>;
  /** Publish follow-up events through the consumer's transport. */
  publish(events: readonly FollowUpEvent[]): Promise<void>;
  /** Append follow-up events to a stream of the consumer's store. */
  append(
    streamId: string,
    events: readonly FollowUpEvent[],
    options?: AppendOptions,
  ): Promise<AppendResult>;
}

/** The innermost function: handle one event. */
export type HandleFn = (event: CloudEvent, context: HandlerContext) => Promise<void>;

/** Cross-cutting behaviour around a handler: `(next) => handler`. */
export type Middleware = (next: HandleFn) => HandleFn;

/** A handler as registered with a consumer. */
export interface EventHandler<T = unknown> {
  /** Unique within the service; names the consumer group `<service>.<name>`. Lower-case. */
  name: string;
  /** Event types or patterns (`treasury.*`) the handler receives. */
  on: readonly string[];
  handle(event: CloudEvent<T>, context: HandlerContext): Promise<void> | void;
  /** Retry policy for this handler. @defaultValue the consumer's */
  retry?: Partial<RetryPolicy>;
  /**
   * Run inside the idempotency store's transaction, so the handler's writes through
   * `context.tx` and the processed-event record commit together. @defaultValue false
   */
  transactional?: boolean;
  /**
   * Receive events as published instead of upcast to the latest version.
   * @defaultValue false
   */
  raw?: boolean;
  /** Concurrent handlings across partition keys. @defaultValue the consumer's */
  concurrency?: number;
}

/** Declare a handler with its types checked. */
export function defineHandler<T = unknown>(handler: EventHandler<T>): EventHandler<T> {
  return handler;
}
