import { ErrorCodes } from './codes.js';
import { EventFabricError, type ErrorDetails } from './event-fabric-error.js';

/** A request body is not what its content type says: JSON that does not parse, a bad header. */
export class MalformedBodyError extends EventFabricError {
  constructor(message: string, details: ErrorDetails = {}, options?: ErrorOptions) {
    super(ErrorCodes.MALFORMED_BODY, message, details, options);
  }
}

/** A request body's content type is not one the route accepts. */
export class UnsupportedMediaTypeError extends EventFabricError {
  constructor(contentType: string | undefined, accepted: readonly string[]) {
    super(
      ErrorCodes.UNSUPPORTED_MEDIA_TYPE,
      `content type ${contentType === undefined ? '(none)' : `"${contentType}"`} is not ` +
        `accepted; use ${accepted.join(', ')}`,
      { contentType: contentType ?? null, accepted: [...accepted] },
    );
  }
}

/** A request body is larger than the server's body limit. */
export class PayloadTooLargeError extends EventFabricError {
  constructor(limit: number) {
    super(ErrorCodes.PAYLOAD_TOO_LARGE, `the request body exceeds the limit of ${limit} bytes`, {
      limit,
    });
  }
}

/** A route, stream or schema that does not exist. */
export class NotFoundError extends EventFabricError {
  constructor(message: string, details: ErrorDetails = {}) {
    super(ErrorCodes.NOT_FOUND, message, details);
  }
}

/** A client sent more requests than its rate limit allows; it may retry after `retryAfterSeconds`. */
export class RateLimitedError extends EventFabricError {
  constructor(
    readonly retryAfterSeconds: number,
    limit: number,
    windowMs: number,
  ) {
    super(
      ErrorCodes.RATE_LIMITED,
      `rate limit of ${limit} requests per ${windowMs} ms exceeded; retry in ${retryAfterSeconds} s`,
      { limit, windowMs, retryAfterSeconds },
    );
  }
}

/** A live subscriber (an SSE client) read too slowly and was disconnected. */
export class SlowConsumerError extends EventFabricError {
  constructor(message: string, details: ErrorDetails = {}) {
    super(ErrorCodes.SLOW_CONSUMER, message, details);
  }
}

/** A request to the server carried no API key, or one that is unknown or revoked. */
export class UnauthenticatedError extends EventFabricError {
  constructor(message: string, details: ErrorDetails = {}) {
    super(ErrorCodes.UNAUTHENTICATED, message, details);
  }
}

/** An API key lacks the scope a request needs, or the request reaches into another tenant. */
export class ForbiddenError extends EventFabricError {
  constructor(message: string, details: ErrorDetails = {}) {
    super(ErrorCodes.FORBIDDEN, message, details);
  }
}
