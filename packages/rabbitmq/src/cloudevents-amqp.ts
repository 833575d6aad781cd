import { InvalidEventError, type CloudEvent } from '@eventfabric/core';
import type { Message, Options } from 'amqplib';

/** The structured content mode's media type (CloudEvents AMQP binding). */
export const STRUCTURED_CONTENT_TYPE = 'application/cloudevents+json';
const PREFIXES = ['cloudEvents:', 'cloudEvents_'];

/** An event as AMQP content and properties, serialised once. */
export interface EncodedEvent {
  body: Buffer;
  properties: Options.Publish;
}

/**
 * Structured mode: the body is the event in the CloudEvents JSON format, byte for byte what
 * the store keeps, so a consumer gets exactly the event as published.
 */
export function encodeEvent(event: CloudEvent): EncodedEvent {
  return {
    body: Buffer.from(JSON.stringify(event)),
    properties: {
      contentType: STRUCTURED_CONTENT_TYPE,
      messageId: event.id,
      persistent: true,
      mandatory: true,
    },
  };
}

/**
 * Read an event in either content mode: structured, or binary (`cloudEvents:`-prefixed
 * application properties, the data in the body) as foreign producers may send it.
 * @throws InvalidEventError when the message is neither
 */
export function decodeEvent(message: Message): CloudEvent {
  const contentType = message.properties.contentType as string | undefined;
  try {
    if (contentType?.startsWith(STRUCTURED_CONTENT_TYPE)) {
      const event = JSON.parse(message.content.toString('utf8')) as CloudEvent;
      if (typeof event !== 'object' || event === null || typeof event.id !== 'string') {
        throw new Error('the body is not a CloudEvent object');
      }
      return event;
    }
    return decodeBinary(message, contentType);
  } catch (error) {
    if (error instanceof InvalidEventError) throw error;
    throw new InvalidEventError(
      `message ${String(message.properties.messageId ?? '')} is not a CloudEvent: ${(error as Error).message}`,
      [],
      { reason: (error as Error).message },
    );
  }
}

function decodeBinary(message: Message, contentType: string | undefined): CloudEvent {
  const headers = (message.properties.headers ?? {}) as Record<string, unknown>;
  const attributes: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(headers)) {
    const prefix = PREFIXES.find((p) => name.startsWith(p));
    if (prefix)
      attributes[name.slice(prefix.length)] = Buffer.isBuffer(value) ? value.toString() : value;
  }
  if (typeof attributes.id !== 'string' || typeof attributes.type !== 'string') {
    throw new Error(
      `content type ${contentType ?? 'none'}, and no cloudEvents:id and cloudEvents:type`,
    );
  }
  const text = message.content.toString('utf8');
  const json = contentType === undefined || /[/+]json\b/.test(contentType);
  const data = json ? (text === '' ? undefined : JSON.parse(text)) : text;
  return {
    ...attributes,
    ...(contentType === undefined ? {} : { datacontenttype: contentType }),
    ...(data === undefined ? {} : { data }),
  } as unknown as CloudEvent;
}
