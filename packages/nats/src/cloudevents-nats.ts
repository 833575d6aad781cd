import type { CloudEvent } from '@eventfabric/core';
import { headers as natsHeaders, type MsgHdrs } from '@nats-io/transport-node';

/**
 * The CloudEvents NATS protocol binding. Structured mode: the envelope as JSON, content type
 * `application/cloudevents+json`. Binary mode: `data` as the body, each other attribute as a
 * `ce-<name>` header. Either way `Nats-Msg-Id` is the event id, so JetStream drops a resent
 * copy within its duplicate window.
 */

const STRUCTURED = 'application/cloudevents+json';
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** An event ready to publish: its bytes and headers, serialised once. */
export interface EncodedEvent {
  body: Uint8Array;
  headers: MsgHdrs;
  /** Body plus headers, as the server counts them against `max_payload`. */
  size: number;
}

export function encodeEvent(event: CloudEvent, mode: 'structured' | 'binary'): EncodedEvent {
  const headers = natsHeaders();
  headers.set('Nats-Msg-Id', event.id);
  let body: Uint8Array;
  if (mode === 'structured') {
    headers.set('Content-Type', STRUCTURED);
    body = encoder.encode(JSON.stringify(event));
  } else {
    headers.set('Content-Type', event.datacontenttype);
    for (const [name, value] of Object.entries(event)) {
      if (name === 'data' || name === 'datacontenttype' || value === undefined) continue;
      headers.set(`ce-${name}`, String(value));
    }
    body = encoder.encode(JSON.stringify(event.data ?? null));
  }
  return { body, headers, size: body.length + headerBytes(headers) };
}

/** `NATS/1.0\r\n`, then `name: value\r\n` per value, then `\r\n`, as sent on the wire. */
function headerBytes(headers: MsgHdrs): number {
  let size = 12;
  for (const [name, values] of headers) {
    for (const value of values) size += encoder.encode(`${name}: ${value}\r\n`).length;
  }
  return size;
}

/**
 * Read an event back from either mode.
 * @throws SyntaxError or TypeError when the message is not a CloudEvent
 */
export function decodeEvent(body: Uint8Array, headers: MsgHdrs | undefined): CloudEvent {
  if (headers?.has('ce-id')) {
    const event: Record<string, unknown> = {};
    for (const [name, values] of headers) {
      if (name.toLowerCase().startsWith('ce-')) event[name.slice(3).toLowerCase()] = values[0];
    }
    event.datacontenttype = headers.get('Content-Type') || 'application/json';
    event.data = JSON.parse(decoder.decode(body));
    return event as unknown as CloudEvent;
  }
  const event = JSON.parse(decoder.decode(body)) as CloudEvent;
  if (typeof event !== 'object' || event === null || typeof event.id !== 'string') {
    throw new TypeError('the message is not a structured CloudEvent');
  }
  return event;
}
