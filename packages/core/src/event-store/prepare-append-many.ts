import {
  BatchTooLargeError,
  DuplicateEventIdError,
  InvalidArgumentError,
  InvalidEventError,
} from '../errors/index.js';
import { normalizeEvent } from '../envelope/index.js';
import {
  assertStreamId,
  prepareAppend,
  type EventStoreCommonOptions,
  type PreparedEvent,
} from './prepare-append.js';
import type { StoreLimits } from './limits.js';

/** An event ready to write to its own stream (its `subject`). */
export interface PreparedStreamEvent extends PreparedEvent {
  streamId: string;
}

/** What a store's `appendMany` stored. */
export interface AppendManyResult {
  /** Each event's position in `$all`, in the order given. */
  positions: string[];
  /** How many events were already stored (a retried publish) and kept their first position. */
  duplicates: number;
}

/**
 * Every check a multi-stream append makes before it touches storage: the batch size, each
 * envelope (its `subject` is its stream and must be a valid stream id), each payload's
 * schema, each event's size, and ids unique within the batch. Throws on the first failure.
 */
export function prepareAppendMany(
  events: unknown,
  limits: StoreLimits,
  options: Pick<EventStoreCommonOptions, 'schemas' | 'allowForeignTypes'>,
): PreparedStreamEvent[] {
  if (!Array.isArray(events)) throw new InvalidArgumentError('events must be an array');
  if (events.length > limits.maxBatchSize) {
    throw new BatchTooLargeError(events.length, limits.maxBatchSize);
  }
  const seen = new Set<string>();
  const allowForeignTypes = options.allowForeignTypes ?? false;
  return events.map((input: unknown) => {
    const event = normalizeEvent(input, { allowForeignTypes });
    const streamId = event.subject;
    try {
      assertStreamId(streamId);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new InvalidEventError(`invalid event ${event.id}: /subject ${message}`, [
        { path: '/subject', message },
      ]);
    }
    if (seen.has(event.id)) {
      throw new DuplicateEventIdError(event.id, { reason: 'repeated in one batch' });
    }
    seen.add(event.id);
    const [prepared] = prepareAppend(streamId, [event], limits, options);
    return { streamId, ...prepared! };
  });
}
