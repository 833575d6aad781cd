import type { StoredEvent } from '@eventfabric/core';

/** The columns every event read selects. */
export const EVENT_COLUMNS = 'position, stream_version, body';

/** An `events` row as read with safe integers on. */
export interface EventRow {
  position: bigint;
  stream_version: bigint;
  body: string;
}

/** Rebuild the stored event from its row: the body plus its place in the log. */
export function toStoredEvent(row: EventRow): StoredEvent {
  const event = JSON.parse(row.body) as StoredEvent;
  event.streamversion = Number(row.stream_version);
  event.position = row.position.toString();
  return event;
}
