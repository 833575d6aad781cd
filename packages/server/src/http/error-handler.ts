import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  EventFabricError,
  MalformedBodyError,
  NotFoundError,
  PayloadTooLargeError,
  RateLimitedError,
  UnsupportedMediaTypeError,
} from '@eventfabric/core';
import { ACCEPTED_CONTENT_TYPES } from './body-parsers.js';
import { INTERNAL_ERROR_CODE, httpStatusOf } from './status.js';

/** The body of every error response. */
export interface ErrorBody {
  error: { code: string; message: string; details: Record<string, unknown> };
}

/**
 * Answer every failure with `{"error":{"code","message","details"}}` and the status its code
 * maps to. Fastify's own request errors (body too large, unknown content type, unparsable
 * body) become the matching EventFabric codes; anything else is a bug: logged whole, and
 * answered as INTERNAL without its message.
 */
export function installErrorHandling(app: FastifyInstance, bodyLimitBytes: number): void {
  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const known = toEventFabricError(error, bodyLimitBytes);
    if (known === undefined) {
      request.log.error({ err: error }, 'request failed');
      return reply.code(500).send(errorBody(INTERNAL_ERROR_CODE, 'internal server error', {}));
    }
    const status = httpStatusOf(known.code);
    if (status >= 500) request.log.error({ err: known }, 'request failed');
    else request.log.info({ code: known.code, status }, known.message);
    if (known instanceof RateLimitedError) {
      reply.header('retry-after', String(known.retryAfterSeconds));
    }
    return reply.code(status).send(errorBody(known.code, known.message, known.details));
  });
  app.setNotFoundHandler((request, reply) => {
    const error = new NotFoundError(`no route ${request.method} ${request.url.split('?')[0]}`, {
      resource: 'route',
      method: request.method,
      route: request.url.split('?')[0],
    });
    return reply.code(404).send(errorBody(error.code, error.message, error.details));
  });
}

export function errorBody(
  code: string,
  message: string,
  details: Record<string, unknown>,
): ErrorBody {
  return { error: { code, message, details } };
}

function toEventFabricError(
  error: FastifyError,
  bodyLimitBytes: number,
): EventFabricError | undefined {
  if (error instanceof EventFabricError) return error;
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new PayloadTooLargeError(bodyLimitBytes);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_TYPE':
      return new UnsupportedMediaTypeError(undefined, ACCEPTED_CONTENT_TYPES);
  }
  // Fastify's other request errors (a bad Content-Length, an aborted body): the client's.
  if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
    return new MalformedBodyError(error.message, { reason: error.code ?? 'bad request' });
  }
  return undefined;
}
