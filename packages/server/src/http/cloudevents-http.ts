import type { IncomingHttpHeaders } from 'node:http';
import { MalformedBodyError, UnsupportedMediaTypeError } from '@eventfabric/core';
import {
  ACCEPTED_CONTENT_TYPES,
  BATCH_CONTENT_TYPE,
  JSON_CONTENT_TYPE,
  STRUCTURED_CONTENT_TYPE,
  mediaType,
} from './body-parsers.js';

/** How a request carried its events (the CloudEvents HTTP binding's modes). */
export type ContentMode = 'structured' | 'batch' | 'binary';

/** The events of a publish request, still unchecked: the store checks each envelope. */
export interface ReceivedEvents {
  mode: ContentMode;
  events: Record<string, unknown>[];
}

const CE_PREFIX = 'ce-';

/**
 * Read the events of a request in any mode of the CloudEvents HTTP binding:
 * - binary: a `ce-specversion` header; the attributes are the `ce-*` headers
 *   (percent-decoded), the body is `data` and `Content-Type` is `datacontenttype`;
 * - structured: `application/cloudevents+json`, one event;
 * - batch: `application/cloudevents-batch+json`, an array of events;
 * - `application/json`: an event, or an array of them.
 *
 * @throws MalformedBodyError when the body's shape does not fit its mode, or a header does
 *   not decode; UnsupportedMediaTypeError for a content type outside these
 */
export function receiveEvents(headers: IncomingHttpHeaders, body: unknown): ReceivedEvents {
  const contentType = mediaType(headers['content-type']);
  if (headers['ce-specversion'] !== undefined) {
    return { mode: 'binary', events: [binaryEvent(headers, contentType, body)] };
  }
  switch (contentType) {
    case STRUCTURED_CONTENT_TYPE:
      return { mode: 'structured', events: [asEventObject(body, contentType)] };
    case BATCH_CONTENT_TYPE:
      if (!Array.isArray(body)) {
        throw new MalformedBodyError(`a ${BATCH_CONTENT_TYPE} body must be a JSON array`, {
          contentType,
        });
      }
      return { mode: 'batch', events: body.map((item) => asEventObject(item, contentType)) };
    case JSON_CONTENT_TYPE:
      return Array.isArray(body)
        ? { mode: 'batch', events: body.map((item) => asEventObject(item, contentType)) }
        : { mode: 'structured', events: [asEventObject(body, contentType)] };
    default:
      throw new UnsupportedMediaTypeError(headers['content-type'], ACCEPTED_CONTENT_TYPES);
  }
}

/**
 * Each event must be a JSON object; anything else (a number, null, a nested array) is a
 * malformed body rather than a malformed event, since no envelope exists to report on.
 */
function asEventObject(value: unknown, contentType: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new MalformedBodyError('each event must be a JSON object', {
      contentType,
      got: value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value,
    });
  }
  return value as Record<string, unknown>;
}

function binaryEvent(
  headers: IncomingHttpHeaders,
  contentType: string | undefined,
  body: unknown,
): Record<string, unknown> {
  const event: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!name.startsWith(CE_PREFIX)) continue;
    const attribute = name.slice(CE_PREFIX.length);
    if (typeof value !== 'string') {
      throw new MalformedBodyError(`header ${name} is given more than once`, { header: name });
    }
    event[attribute] = decodeHeaderValue(name, value);
  }
  if (contentType !== undefined) {
    // A JSON payload is `application/json` whatever its charset parameter says; any other
    // type is kept as sent, and the envelope check rejects it.
    event.datacontenttype = contentType === JSON_CONTENT_TYPE ? JSON_CONTENT_TYPE : contentType;
  }
  if (body !== undefined) event.data = body;
  return event;
}

/** CloudEvents HTTP binding 3.1.3.2: header values are percent-encoded where needed. */
function decodeHeaderValue(name: string, value: string): string {
  if (!value.includes('%')) return value;
  try {
    return decodeURIComponent(value);
  } catch (error) {
    throw new MalformedBodyError(
      `header ${name} is not validly percent-encoded`,
      { header: name },
      { cause: error },
    );
  }
}
