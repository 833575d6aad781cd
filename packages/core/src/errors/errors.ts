import { ErrorCodes } from './codes.js';
import { EventFabricError, type ErrorDetails } from './event-fabric-error.js';

/** One failing location in a validated document. `path` is a JSON Pointer. */
export interface ValidationIssue {
  path: string;
  message: string;
  keyword?: string;
}

/** An argument to a public API is malformed, of the wrong type or out of range. */
export class InvalidArgumentError extends EventFabricError {
  constructor(message: string, details: ErrorDetails = {}, options?: ErrorOptions) {
    super(ErrorCodes.INVALID_ARGUMENT, message, details, options);
  }
}

/** An event envelope breaks the CloudEvents 1.0 rules or EventFabric's naming rule. */
export class InvalidEventError extends EventFabricError {
  constructor(
    message: string,
    readonly issues: ValidationIssue[],
    details: ErrorDetails = {},
  ) {
    super(ErrorCodes.INVALID_EVENT, message, { ...details, issues });
  }
}

/** An event's `data` does not satisfy its registered JSON Schema. */
export class ValidationFailedError extends EventFabricError {
  constructor(
    message: string,
    readonly issues: ValidationIssue[],
    details: ErrorDetails = {},
  ) {
    super(ErrorCodes.VALIDATION_FAILED, message, { ...details, issues });
  }
}

/** A single serialised event exceeds the configured maximum size. */
export class EventTooLargeError extends EventFabricError {
  constructor(eventId: string, size: number, limit: number) {
    super(ErrorCodes.EVENT_TOO_LARGE, `event ${eventId} is ${size} bytes; the limit is ${limit}`, {
      eventId,
      size,
      limit,
    });
  }
}

/** A batch holds more events than the configured maximum. */
export class BatchTooLargeError extends EventFabricError {
  constructor(count: number, limit: number) {
    super(ErrorCodes.BATCH_TOO_LARGE, `batch of ${count} events exceeds the limit of ${limit}`, {
      count,
      limit,
    });
  }
}

/** The stream's version did not match the caller's expectation; nothing was appended. */
export class WrongExpectedVersionError extends EventFabricError {
  constructor(
    readonly streamId: string,
    readonly expected: string | number,
    readonly actual: number | 'no_stream',
  ) {
    super(
      ErrorCodes.WRONG_EXPECTED_VERSION,
      `stream ${streamId}: expected version ${String(expected)}, actual ${String(actual)}`,
      { streamId, expected, actual },
    );
  }
}

/** An event id already stored belongs to a different event (different stream or content). */
export class DuplicateEventIdError extends EventFabricError {
  constructor(eventId: string, details: ErrorDetails = {}) {
    super(
      ErrorCodes.DUPLICATE_EVENT_ID,
      `event id ${eventId} is already used by a different event`,
      { eventId, ...details },
    );
  }
}

/** No schema is registered for a type (or a type and version). */
export class SchemaNotFoundError extends EventFabricError {
  constructor(type: string, details: ErrorDetails = {}) {
    super(ErrorCodes.SCHEMA_NOT_FOUND, `no schema registered for ${type}`, { type, ...details });
  }
}

/** A schema document is not valid JSON Schema 2020-12, or its metadata is malformed. */
export class InvalidSchemaError extends EventFabricError {
  constructor(message: string, details: ErrorDetails = {}, options?: ErrorOptions) {
    super(ErrorCodes.INVALID_SCHEMA, message, details, options);
  }
}

/** One change that breaks compatibility between two schema versions. */
export interface SchemaChange {
  path: string;
  kind: string;
  message: string;
  /** The earlier version the change breaks against. */
  against: number;
}

/** Registering a schema version would break the subject's compatibility mode. */
export class IncompatibleSchemaError extends EventFabricError {
  constructor(
    type: string,
    mode: string,
    readonly changes: SchemaChange[],
  ) {
    super(
      ErrorCodes.INCOMPATIBLE_SCHEMA,
      `${type} is not ${mode}-compatible:\n` +
        changes.map((c) => `  - ${c.message} (vs v${c.against})`).join('\n'),
      { type, mode, changes },
    );
  }
}

/** An upcaster threw or produced data that fails the next version's schema. */
export class UpcasterFailedError extends EventFabricError {
  constructor(fromType: string, eventId: string, options?: ErrorOptions) {
    super(
      ErrorCodes.UPCASTER_FAILED,
      `upcasting ${fromType} failed for event ${eventId}`,
      {
        fromType,
        eventId,
      },
      options,
    );
  }
}

/** Configuration (store URL, options object, config file) is malformed or unknown. */
export class InvalidConfigError extends EventFabricError {
  constructor(message: string, details: ErrorDetails = {}, options?: ErrorOptions) {
    super(ErrorCodes.INVALID_CONFIG, message, details, options);
  }
}

/** The store cannot be opened or written (missing directory, permissions, I/O error). */
export class StoreUnavailableError extends EventFabricError {
  constructor(message: string, details: ErrorDetails = {}, options?: ErrorOptions) {
    super(ErrorCodes.STORE_UNAVAILABLE, message, details, options);
  }
}

/** The store was used after `close()`. */
export class StoreClosedError extends EventFabricError {
  constructor() {
    super(ErrorCodes.STORE_CLOSED, 'the event store is closed');
  }
}

/** A subscription stopped because its handler or the store failed. */
export class SubscriptionFailedError extends EventFabricError {
  constructor(message: string, details: ErrorDetails = {}, options?: ErrorOptions) {
    super(ErrorCodes.SUBSCRIPTION_FAILED, message, details, options);
  }
}

/**
 * Thrown by a handler when retrying cannot help (a malformed payload, a rule violation):
 * the event goes straight to the dead letters.
 */
export class NonRetryableError extends EventFabricError {
  constructor(message: string, details: ErrorDetails = {}, options?: ErrorOptions) {
    super(ErrorCodes.NON_RETRYABLE, message, details, options);
  }
}

/** Thrown by a handler that knows when to try again (a rate limit's reset, a lock's expiry). */
export class RetryLaterError extends EventFabricError {
  constructor(
    readonly delayMs: number,
    message = `retry in ${delayMs} ms`,
    options?: ErrorOptions,
  ) {
    super(ErrorCodes.RETRY_LATER, message, { delayMs }, options);
  }
}

/** A handler threw something that is not an EventFabricError; `cause` is what it threw. */
export class HandlerFailedError extends EventFabricError {
  constructor(handler: string, eventId: string, options?: ErrorOptions) {
    const reason = options?.cause instanceof Error ? options.cause.message : String(options?.cause);
    super(
      ErrorCodes.HANDLER_FAILED,
      `handler ${handler} failed on event ${eventId}: ${reason}`,
      { handler, eventId },
      options,
    );
  }
}

/** An event kept being delivered without ever failing cleanly: its consumer crashes on it. */
export class PoisonMessageError extends EventFabricError {
  constructor(eventId: string, deliveryCount: number, limit: number) {
    super(
      ErrorCodes.POISON_MESSAGE,
      `event ${eventId} was delivered ${deliveryCount} times without settling (limit ${limit}); quarantined`,
      { eventId, deliveryCount, limit },
    );
  }
}

/** No dead letter has the given id. */
export class DeadLetterNotFoundError extends EventFabricError {
  constructor(id: string) {
    super(ErrorCodes.DEAD_LETTER_NOT_FOUND, `no dead letter ${id}`, { id });
  }
}

/** Graceful shutdown hit its deadline with handlers still running. */
export class ShutdownTimeoutError extends EventFabricError {
  constructor(deadlineMs: number, inFlight: number) {
    super(
      ErrorCodes.SHUTDOWN_TIMEOUT,
      `${inFlight} handlers still running after ${deadlineMs} ms`,
      {
        deadlineMs,
        inFlight,
      },
    );
  }
}

/**
 * A broker connection was lost or refused, or a publish was in flight when it went; the
 * broker may or may not have taken the events (`retryable: true`: publish them again).
 */
export class TransportUnavailableError extends EventFabricError {
  constructor(message: string, details: ErrorDetails = {}, options?: ErrorOptions) {
    super(ErrorCodes.TRANSPORT_UNAVAILABLE, message, details, options);
  }
}

/** The broker had no queue to route an event to: nobody would ever receive it. */
export class UnroutableEventError extends EventFabricError {
  constructor(message: string, details: ErrorDetails = {}, options?: ErrorOptions) {
    super(ErrorCodes.UNROUTABLE_EVENT, message, details, options);
  }
}

/**
 * A queue or exchange (RabbitMQ), or a stream or consumer (JetStream), already exists on the
 * broker with other settings than the ones declared; nothing was changed.
 */
export class TopologyConflictError extends EventFabricError {
  constructor(message: string, details: ErrorDetails = {}, options?: ErrorOptions) {
    super(ErrorCodes.TOPOLOGY_CONFLICT, message, details, options);
  }
}
