import Database from 'better-sqlite3';
import {
  BatchTooLargeError,
  DuplicateEventIdError,
  InvalidArgumentError,
  InvalidEventError,
  assertStreamId,
  isSameEvent,
  normalizeEvent,
  prepareAppend,
  streamCategory,
  type EventStoreCommonOptions,
  type PreparedEvent,
  type StoreLimits,
} from '@eventfabric/core';
import type { ExistingEventRow } from './sql/find-event-by-id.js';

/** An event ready to write to its own stream (its `subject`). */
export interface PreparedStreamEvent extends PreparedEvent {
  streamId: string;
}

/** What {@link SqliteEventStore.appendMany} stored. */
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

/** The statements a multi-stream append runs, shared with the store. */
export interface AppendManyStatements {
  insert: Database.Statement;
  streamVersion: Database.Statement<[string], number | null>;
  findById: Database.Statement<[string], ExistingEventRow>;
}

/**
 * Build the multi-stream append: one `BEGIN IMMEDIATE` transaction that inserts every event in
 * the order given, each at the next version of its stream. When an id is already stored, the
 * transaction is rolled back and run again comparing each event with what its id holds.
 */
export function createAppendMany(
  db: Database.Database,
  statements: AppendManyStatements,
): (prepared: PreparedStreamEvent[]) => AppendManyResult {
  const write = db.transaction((prepared: PreparedStreamEvent[], compare: boolean) => {
    const versions = new Map<string, number>();
    const recordedAt = Date.now();
    let duplicates = 0;
    const positions = prepared.map(({ streamId, event, json }) => {
      if (compare) {
        const row = statements.findById.get(event.id);
        if (row) {
          const stored = JSON.parse(row.body) as { type: string; data: unknown };
          if (!isSameEvent({ streamId: row.stream_id, ...stored }, { streamId, event })) {
            throw new DuplicateEventIdError(event.id, { storedIn: row.stream_id });
          }
          duplicates++;
          return row.position.toString();
        }
      }
      const version = (versions.get(streamId) ?? statements.streamVersion.get(streamId) ?? -1) + 1;
      versions.set(streamId, version);
      const info = statements.insert.run(
        event.id,
        streamId,
        version,
        event.type,
        streamCategory(streamId),
        event.correlationid,
        recordedAt,
        json,
      );
      return info.lastInsertRowid.toString();
    });
    return { positions, duplicates };
  });
  return (prepared) => {
    try {
      return write.immediate(prepared, false);
    } catch (error) {
      if (!isUniqueEventIdViolation(error)) throw error;
      return write.immediate(prepared, true);
    }
  };
}

function isUniqueEventIdViolation(error: unknown): boolean {
  return (
    error instanceof Database.SqliteError &&
    error.code === 'SQLITE_CONSTRAINT_UNIQUE' &&
    error.message.includes('events.event_id')
  );
}
