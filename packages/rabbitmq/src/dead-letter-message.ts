import { createHash, randomBytes } from 'node:crypto';
import type { CloudEvent, DeadLetter, DeadLetterError, DeadLetterReason } from '@eventfabric/core';
import type { Message } from 'amqplib';
import { decodeEvent } from './cloudevents-amqp.js';

// A dead letter in `<queue>.dlq` is the original message, body untouched, with its error
// context in headers: what `eventfabric dlq … --transport amqp://` and the dead-letter store
// read back.

/** The headers a dead letter carries in `<queue>.dlq`. */
export const DEAD_LETTER_HEADERS = {
  id: 'x-eventfabric-dead-letter-id',
  handler: 'x-eventfabric-handler',
  group: 'x-eventfabric-group',
  origin: 'x-eventfabric-origin',
  reason: 'x-eventfabric-reason',
  errorCode: 'x-eventfabric-error-code',
  errorMessage: 'x-eventfabric-error-message',
  errorStack: 'x-eventfabric-error-stack',
  errorDetails: 'x-eventfabric-error-details',
  attempts: 'x-eventfabric-attempts',
  firstFailedAt: 'x-eventfabric-first-failed-at',
  lastFailedAt: 'x-eventfabric-last-failed-at',
  deadLetteredAt: 'x-eventfabric-dead-lettered-at',
} as const;

/** Why a message is in a `.dlq`: the consumer framework's reasons, or not a CloudEvent at all. */
export type QueuedDeadLetterReason = DeadLetterReason | 'malformed';

/** A message of a `<queue>.dlq`, as a dead letter. */
export interface QueuedDeadLetter extends Omit<DeadLetter, 'event' | 'reason'> {
  reason: QueuedDeadLetterReason;
  /** The event; null when the message is not a CloudEvent (reason `malformed`). */
  event: CloudEvent | null;
  /** The `.dlq` queue it is in. */
  queue: string;
  /** A malformed message's body, as UTF-8 text. */
  body?: string;
}

/** Header values past these sizes are cut: AMQP headers share one frame (128 KiB by default). */
const MAX_MESSAGE_CHARS = 4096;
const MAX_STACK_CHARS = 16_384;
const MAX_DETAILS_CHARS = 16_384;

function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length - max} more)`;
}

/** The headers of a dead letter's message: its whole context but the event (the body). */
export function deadLetterHeaders(entry: DeadLetter): Record<string, string | number> {
  const h = DEAD_LETTER_HEADERS;
  const details =
    entry.error.details === undefined ? undefined : JSON.stringify(entry.error.details);
  return {
    [h.id]: entry.id,
    [h.handler]: entry.handler,
    [h.group]: entry.group,
    [h.origin]: entry.origin,
    [h.reason]: entry.reason,
    [h.errorCode]: entry.error.code,
    [h.errorMessage]: cut(entry.error.message, MAX_MESSAGE_CHARS),
    ...(entry.error.stack === undefined
      ? {}
      : { [h.errorStack]: cut(entry.error.stack, MAX_STACK_CHARS) }),
    ...(details === undefined
      ? {}
      : {
          [h.errorDetails]:
            details.length <= MAX_DETAILS_CHARS
              ? details
              : JSON.stringify({ truncated: true, length: details.length }),
        }),
    [h.attempts]: entry.attempts,
    [h.firstFailedAt]: entry.firstFailedAt,
    [h.lastFailedAt]: entry.lastFailedAt,
    [h.deadLetteredAt]: entry.deadLetteredAt,
  };
}

function text(headers: Record<string, unknown>, name: string): string | undefined {
  const value = headers[name];
  if (value === undefined || value === null) return undefined;
  return Buffer.isBuffer(value) ? value.toString('utf8') : String(value);
}

/**
 * Read a `.dlq` message as a dead letter. Messages without the headers (dead-lettered by
 * other means) still read: the id falls back to a digest of the body, the rest to what the
 * message and the queue name tell.
 */
export function readDeadLetter(message: Message, queue: string): QueuedDeadLetter {
  const h = DEAD_LETTER_HEADERS;
  const headers = (message.properties.headers ?? {}) as Record<string, unknown>;
  let event: CloudEvent | null = null;
  try {
    event = decodeEvent(message);
  } catch {
    // Not a CloudEvent: kept as text, reason malformed.
  }
  const workQueue = queue.endsWith('.dlq') ? queue.slice(0, -'.dlq'.length) : queue;
  const reason = (text(headers, h.reason) ??
    (event ? 'exhausted' : 'malformed')) as QueuedDeadLetterReason;
  const detailsText = text(headers, h.errorDetails);
  let details: Record<string, unknown> | undefined;
  if (detailsText !== undefined) {
    try {
      details = JSON.parse(detailsText) as Record<string, unknown>;
    } catch {
      details = { text: detailsText };
    }
  }
  const stack = text(headers, h.errorStack);
  const error: DeadLetterError = {
    code: text(headers, h.errorCode) ?? (event ? 'HANDLER_FAILED' : 'INVALID_EVENT'),
    message: text(headers, h.errorMessage) ?? '',
    ...(stack === undefined ? {} : { stack }),
    ...(details === undefined ? {} : { details }),
  };
  const deadLetteredAt = text(headers, h.deadLetteredAt) ?? '';
  const group = text(headers, h.group) ?? text(headers, h.origin) ?? workQueue;
  return {
    id: text(headers, h.id) ?? digestId(message),
    handler: text(headers, h.handler) ?? '',
    group,
    origin: text(headers, h.origin) ?? workQueue,
    reason,
    event,
    error,
    attempts: Number(text(headers, h.attempts) ?? 0) || 0,
    firstFailedAt: text(headers, h.firstFailedAt) ?? deadLetteredAt,
    lastFailedAt: text(headers, h.lastFailedAt) ?? deadLetteredAt,
    deadLetteredAt,
    queue,
    ...(event === null ? { body: message.content.toString('utf8') } : {}),
  };
}

/** An id for a message that came without one: the same message always gets the same id. */
function digestId(message: Message): string {
  return `sha256-${createHash('sha256').update(message.content).digest('hex').slice(0, 32)}`;
}

/** A UUIDv7 (RFC 9562): ids made later sort later, as the dead-letter contract asks. */
export function newDeadLetterId(now = Date.now()): string {
  const bytes = randomBytes(16);
  bytes.writeUIntBE(now, 0, 6);
  bytes[6] = (bytes[6]! & 0x0f) | 0x70;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Whether the dead letter is a consumer framework's, which a `DeadLetterStore` can hold. */
export function isStoreDeadLetter(entry: QueuedDeadLetter): entry is QueuedDeadLetter & DeadLetter {
  return entry.event !== null && entry.reason !== 'malformed';
}

/** Headers a re-driven copy must not carry: the dead-letter context and delivery counts. */
export function redriveHeaders(message: Message): Record<string, unknown> {
  const kept: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(
    (message.properties.headers ?? {}) as Record<string, unknown>,
  )) {
    if (name.startsWith('x-eventfabric-') || name === 'x-delivery-count' || name === 'x-death') {
      continue;
    }
    if (name === 'x-first-death-exchange' || name === 'x-first-death-queue') continue;
    if (name === 'x-first-death-reason') continue;
    kept[name] = value;
  }
  return kept;
}
