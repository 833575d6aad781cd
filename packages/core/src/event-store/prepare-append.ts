import {
  BatchTooLargeError,
  DuplicateEventIdError,
  EventTooLargeError,
  InvalidArgumentError,
} from '../errors/index.js';
import { normalizeEvent, type CloudEvent } from '../envelope/index.js';
import type { EventSchemas } from '../schema/event-schemas.js';
import type { AppendResult, ExpectedVersion } from './event-store.js';
import { MAX_STREAM_ID_LENGTH, type StoreLimits } from './limits.js';

/** Store options shared by every implementation. */
export interface EventStoreCommonOptions {
  /** Validate `data` on append and upcast on read. @defaultValue no validation */
  schemas?: EventSchemas;
  /** @defaultValue {@link DEFAULT_STORE_LIMITS} */
  limits?: Partial<StoreLimits>;
  /** Admit foreign CloudEvents types such as `com.github.push`. @defaultValue false */
  allowForeignTypes?: boolean;
  /** Write a snapshot when this many events follow the last one. @defaultValue 100 */
  snapshotEvery?: number;
}

/** An event ready to write: normalised, validated and serialised exactly once. */
export interface PreparedEvent {
  event: CloudEvent;
  /** The stored body: the envelope as JSON, without `streamversion` and `position`. */
  json: string;
}

/** @throws InvalidArgumentError for an empty, over-long or reserved stream id. */
export function assertStreamId(streamId: unknown): asserts streamId is string {
  if (typeof streamId !== 'string' || streamId.length === 0) {
    throw new InvalidArgumentError('stream id must be a non-empty string', { streamId });
  }
  if (streamId.length > MAX_STREAM_ID_LENGTH) {
    throw new InvalidArgumentError(`stream id is longer than ${MAX_STREAM_ID_LENGTH} characters`, {
      length: streamId.length,
    });
  }
  // `$`-prefixed names are the store's own (`$all`); control characters break logs and URLs.
  if (streamId.startsWith('$') || /\p{Cc}/u.test(streamId)) {
    throw new InvalidArgumentError(
      `stream id "${streamId}" is reserved or has control characters`,
      {
        streamId,
      },
    );
  }
}

/** @throws InvalidArgumentError for anything but the four expected-version forms. */
export function assertExpectedVersion(value: unknown): asserts value is ExpectedVersion {
  if (value === 'any' || value === 'no_stream' || value === 'stream_exists') return;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= -1) return;
  throw new InvalidArgumentError(
    'expectedVersion must be "any", "no_stream", "stream_exists" or a version number',
    { expectedVersion: value as never },
  );
}

/**
 * Everything an append checks before it touches storage: the stream id, the batch size,
 * each envelope, each payload's schema, each event's size, and ids unique within the batch.
 * Throws on the first failing check, so a rejected append writes nothing.
 */
export function prepareAppend(
  streamId: unknown,
  events: unknown,
  limits: StoreLimits,
  options: Pick<EventStoreCommonOptions, 'schemas' | 'allowForeignTypes'>,
): PreparedEvent[] {
  assertStreamId(streamId);
  if (!Array.isArray(events) || events.length === 0) {
    throw new InvalidArgumentError('events must be a non-empty array', { streamId });
  }
  if (events.length > limits.maxBatchSize) {
    throw new BatchTooLargeError(events.length, limits.maxBatchSize);
  }
  const seen = new Set<string>();
  const allowForeignTypes = options.allowForeignTypes ?? false;
  return events.map((input: unknown) => {
    let event = normalizeEvent(input, { subject: streamId, allowForeignTypes });
    if (seen.has(event.id))
      throw new DuplicateEventIdError(event.id, { reason: 'repeated in one batch' });
    seen.add(event.id);
    if (options.schemas) event = options.schemas.validate(event);
    const json = JSON.stringify(event);
    // Byte length only matters near the limit; UTF-16 length × 3 bounds UTF-8 bytes.
    if (json.length * 3 > limits.maxEventBytes) {
      const size = Buffer.byteLength(json);
      if (size > limits.maxEventBytes)
        throw new EventTooLargeError(event.id, size, limits.maxEventBytes);
    }
    return { event, json };
  });
}

/** Resolve a store's limits from its options, rejecting nonsense. */
export function resolveLimits(
  limits: Partial<StoreLimits> | undefined,
  defaults: StoreLimits,
): StoreLimits {
  const resolved = { ...defaults, ...limits };
  for (const [key, value] of Object.entries(resolved)) {
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new InvalidArgumentError(`limits.${key} must be a positive integer`, { [key]: value });
    }
  }
  return resolved;
}

/** The outcome of comparing a stored event with one being appended again under its id. */
export function isSameEvent(
  stored: { streamId: string; type: string; data: unknown },
  incoming: { streamId: string; event: CloudEvent },
): boolean {
  return (
    stored.streamId === incoming.streamId &&
    stored.type === incoming.event.type &&
    JSON.stringify(stored.data) === JSON.stringify(incoming.event.data)
  );
}

/** Where an event id is already stored, as a store reads it back for a retry check. */
export interface StoredEventRef {
  streamId: string;
  streamVersion: number | bigint | string;
  position: number | bigint | string;
  /** The stored envelope as JSON. */
  body: string;
}

/**
 * Decide what a retried append means, given where each of its ids is already stored
 * (`undefined` for an id not stored). Every store answers retries through this, so they
 * agree exactly:
 * - no id stored: `undefined` (not a retry);
 * - every id stored, in this stream with the same type and data: the original result,
 *   `deduplicated: true`;
 * - otherwise DUPLICATE_EVENT_ID (an id used by another event, or part of the batch stored).
 */
export function resolveEarlierAppend(
  streamId: string,
  prepared: readonly PreparedEvent[],
  stored: readonly (StoredEventRef | undefined)[],
): AppendResult | undefined {
  const firstFound = stored.findIndex((ref) => ref !== undefined);
  if (firstFound === -1) return undefined;
  prepared.forEach(({ event }, i) => {
    const ref = stored[i];
    if (!ref) {
      throw new DuplicateEventIdError(prepared[firstFound]!.event.id, {
        reason: 'part of the batch is already stored',
      });
    }
    const { type, data } = JSON.parse(ref.body) as { type: string; data: unknown };
    if (!isSameEvent({ streamId: ref.streamId, type, data }, { streamId, event })) {
      throw new DuplicateEventIdError(event.id, { storedIn: ref.streamId });
    }
  });
  const refs = stored as readonly StoredEventRef[];
  const positions = refs.map((ref) => String(ref.position));
  return {
    streamVersion: Number(refs[refs.length - 1]!.streamVersion),
    position: positions[positions.length - 1]!,
    positions,
    deduplicated: true,
  };
}
