import {
  DEFAULT_STORE_LIMITS,
  DuplicateEventIdError,
  InvalidArgumentError,
  normalizeEvent,
  prepareAppend,
  type CloudEvent,
  type EventSchemas,
} from '@eventfabric/core';
import { atLine, type NdjsonRecord } from './ndjson.js';

/** How input events are checked before anything is written. */
export interface CheckEventsOptions {
  /** The stream every event goes to; when absent, each event's `subject` names it. */
  streamId?: string;
  schemas?: EventSchemas;
  allowForeignTypes?: boolean;
}

/** An input event after its checks, with the stream it goes to. */
export interface CheckedEvent {
  line: number;
  streamId: string;
  /** The input as given: the store normalises it again on append. */
  input: unknown;
  event: CloudEvent;
}

/**
 * Run every check an append makes (envelope, schema, size, ids unique in the input) on every
 * record, so a bad line is reported with its number and nothing is written. A store checks
 * each append call on its own; this pass covers input spread over several calls (publish).
 *
 * @throws the first failing check's error, with `line` in its details
 */
export function checkEvents(records: NdjsonRecord[], options: CheckEventsOptions): CheckedEvent[] {
  if (records.length === 0) {
    throw new InvalidArgumentError('the input holds no events (expected one JSON event per line)');
  }
  const seen = new Map<string, number>();
  return records.map(({ line, value }) => {
    try {
      const streamId = options.streamId ?? subjectOf(value, options.allowForeignTypes);
      const [prepared] = prepareAppend(streamId, [value], DEFAULT_STORE_LIMITS, options);
      const event = prepared!.event;
      const earlier = seen.get(event.id);
      if (earlier !== undefined) {
        throw new DuplicateEventIdError(event.id, { reason: `repeats line ${earlier}` });
      }
      seen.set(event.id, line);
      return { line, streamId, input: value, event };
    } catch (error) {
      throw atLine(error, line);
    }
  });
}

/** The subject of an event that must carry one; a missing subject fails the envelope check. */
function subjectOf(value: unknown, allowForeignTypes: boolean | undefined): string {
  const subject = (value as { subject?: unknown } | null)?.subject;
  if (typeof subject === 'string') return subject;
  // Reports the missing or malformed subject together with any other envelope problem.
  return normalizeEvent(value, { allowForeignTypes }).subject;
}
