/** Structured, JSON-safe context attached to an error. */
export type ErrorDetails = Record<string, unknown>;

/**
 * Base class of every error EventFabric raises on purpose.
 *
 * `code` is stable across releases and is what callers branch on; `message` is for people.
 * `details` carries machine-readable context (failing paths, versions, names). `cause`
 * chains the lower-level error, if any. HTTP statuses are mapped in the server only.
 */
export class EventFabricError extends Error {
  readonly code: string;
  readonly details: ErrorDetails;

  constructor(code: string, message: string, details: ErrorDetails = {}, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.details = details;
  }

  /** The wire shape used by the CLI's `--json` output and the HTTP API. */
  toJSON(): { code: string; message: string; details: ErrorDetails } {
    return { code: this.code, message: this.message, details: this.details };
  }
}

/** True when `error` is an {@link EventFabricError}, optionally with the given code. */
export function isEventFabricError(error: unknown, code?: string): error is EventFabricError {
  return error instanceof EventFabricError && (code === undefined || error.code === code);
}
