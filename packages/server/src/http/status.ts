import { ErrorCodes } from '@eventfabric/core';

/**
 * The HTTP status of each error code: the one place codes meet statuses (STYLE.md 7).
 * `status-map.test.ts` fails when a code in `ErrorCodes` has no entry here, and
 * `docs/server.md` lists the same table.
 */
export const HTTP_STATUS_BY_CODE: Readonly<Record<string, number>> = Object.freeze({
  [ErrorCodes.INVALID_ARGUMENT]: 400,
  [ErrorCodes.MALFORMED_BODY]: 400,
  [ErrorCodes.INVALID_EVENT]: 422,
  [ErrorCodes.VALIDATION_FAILED]: 422,
  [ErrorCodes.SCHEMA_NOT_FOUND]: 422,
  [ErrorCodes.INVALID_SCHEMA]: 422,
  // Written as a string: the code arrives with the RabbitMQ transport.
  UNROUTABLE_EVENT: 422,
  [ErrorCodes.INCOMPATIBLE_SCHEMA]: 409,
  [ErrorCodes.DUPLICATE_EVENT_ID]: 409,
  [ErrorCodes.TOPOLOGY_CONFLICT]: 409,
  [ErrorCodes.WRONG_EXPECTED_VERSION]: 412,
  [ErrorCodes.EVENT_TOO_LARGE]: 413,
  [ErrorCodes.BATCH_TOO_LARGE]: 413,
  [ErrorCodes.PAYLOAD_TOO_LARGE]: 413,
  [ErrorCodes.UNSUPPORTED_MEDIA_TYPE]: 415,
  [ErrorCodes.UNAUTHENTICATED]: 401,
  [ErrorCodes.FORBIDDEN]: 403,
  [ErrorCodes.NOT_FOUND]: 404,
  [ErrorCodes.DEAD_LETTER_NOT_FOUND]: 404,
  [ErrorCodes.WEBHOOK_SIGNATURE_INVALID]: 401,
  [ErrorCodes.WEBHOOK_TIMESTAMP_INVALID]: 401,
  [ErrorCodes.WEBHOOK_REPLAYED]: 409,
  [ErrorCodes.WEBHOOK_TARGET_REFUSED]: 422,
  [ErrorCodes.RATE_LIMITED]: 429,
  [ErrorCodes.STORE_UNAVAILABLE]: 503,
  [ErrorCodes.STORE_CLOSED]: 503,
  [ErrorCodes.TRANSPORT_UNAVAILABLE]: 503,
  [ErrorCodes.SHUTDOWN_TIMEOUT]: 503,
  [ErrorCodes.SLOW_CONSUMER]: 503,
  // Raised by configuration, upcasters and handlers: a fault of the server's setup or code,
  // never of the request.
  [ErrorCodes.INVALID_CONFIG]: 500,
  [ErrorCodes.UPCASTER_FAILED]: 500,
  [ErrorCodes.SUBSCRIPTION_FAILED]: 500,
  [ErrorCodes.NON_RETRYABLE]: 500,
  [ErrorCodes.RETRY_LATER]: 500,
  [ErrorCodes.HANDLER_FAILED]: 500,
  [ErrorCodes.POISON_MESSAGE]: 500,
});

/** The code of an error that is not an EventFabricError: a bug, reported without its message. */
export const INTERNAL_ERROR_CODE = 'INTERNAL';

/** The status for a code; 500 for one the table does not know. */
export function httpStatusOf(code: string): number {
  return HTTP_STATUS_BY_CODE[code] ?? 500;
}
