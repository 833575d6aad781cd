import type { StoredEvent } from '@eventfabric/core';

/** The columns every event read selects. */
export const EVENT_COLUMNS = 'position, stream_version, body';

/** An `events` row as node-postgres returns it: bigint columns arrive as strings. */
export interface EventRow {
  position: string;
  stream_version: string;
  body: string;
}

/** Rebuild the stored event from its row: the body plus its place in the log. */
export function toStoredEvent(row: EventRow): StoredEvent {
  const event = JSON.parse(row.body) as StoredEvent;
  event.streamversion = Number(row.stream_version);
  event.position = row.position;
  return event;
}
