import Database from 'better-sqlite3';
import {
  DuplicateEventIdError,
  isSameEvent,
  streamCategory,
  type AppendManyResult,
  type PreparedStreamEvent,
} from '@eventfabric/core';
import type { ExistingEventRow } from './sql/find-event-by-id.js';

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
