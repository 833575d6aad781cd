import type { Pool } from 'pg';
import type { ExpectedVersion, PreparedEvent } from '@eventfabric/core';
import { joinBodies } from './append-events.js';

/** One append inside a combined statement: at most one per stream. */
export interface StreamAppend {
  streamId: string;
  category: string;
  prepared: readonly PreparedEvent[];
  expected: ExpectedVersion;
}

/** An event of a combined statement: which append (index) it belongs to, and its place there. */
export interface StreamAppendEvent {
  append: number;
  /** 1-based: the event goes at the stream's version + ord. */
  ord: number;
  prepared: PreparedEvent;
}

/** The events of `appends`, append after append, each in its own order. */
export function eventsInAppendOrder(appends: readonly StreamAppend[]): StreamAppendEvent[] {
  return appends.flatMap((a, append) =>
    a.prepared.map((prepared, i) => ({ append, ord: i + 1, prepared })),
  );
}

/**
 * One row per inserted event (with `position`), and one row per append whose expected
 * version did not hold (`position` null, `current_version` set).
 */
export interface StreamAppendRow {
  stream_id: string;
  event_id: string | null;
  current_version: string | null;
  position: string | null;
  stream_version: string | null;
}

/**
 * Several appends, to distinct streams, in one statement (one round trip, one implicit
 * transaction, one commit): the store's group commit for concurrent appends, and
 * `appendMany`. Each append's expected version is checked on its own: one that fails inserts
 * nothing and reports its stream's version, the others are stored. Positions follow the
 * order of the events given. A unique
 * violation (a duplicate event id, or a version race with another process) aborts the
 * whole statement; the store then runs the appends one by one.
 */
export function appendStreamsSql(s: string): string {
  return `
    WITH a AS (
      SELECT a.*, coalesce(
          (SELECT max(e.stream_version) FROM ${s}.events e WHERE e.stream_id = a.stream_id), -1
        ) AS version
      FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[])
        WITH ORDINALITY AS a(stream_id, category, kind, expected, idx)
    ), ok AS (
      SELECT * FROM a WHERE CASE a.kind
        WHEN 'any' THEN true
        WHEN 'no_stream' THEN a.version = -1
        WHEN 'stream_exists' THEN a.version >= 0
        ELSE a.version = a.expected
      END
    ), inserted AS (
      INSERT INTO ${s}.events (event_id, stream_id, stream_version, type, category, correlation_id, body)
      SELECT v.event_id, ok.stream_id, ok.version + v.ord, v.type, ok.category, v.correlation_id, v.body
      FROM unnest($5::bigint[], $6::bigint[], $7::text[], $8::text[], $9::text[], string_to_array($10, chr(30)))
          WITH ORDINALITY AS v(idx, ord, event_id, type, correlation_id, body, n)
        JOIN ok ON ok.idx = v.idx
      ORDER BY v.n
      RETURNING stream_id, event_id, position, stream_version
    )
    SELECT stream_id, event_id, NULL::bigint AS current_version, position, stream_version
    FROM inserted
    UNION ALL
    SELECT a.stream_id, NULL, a.version, NULL, NULL FROM a WHERE a.idx NOT IN (SELECT idx FROM ok)`;
}

export async function appendStreams(
  pool: Pick<Pool, 'query'>,
  s: string,
  appends: readonly StreamAppend[],
  events: readonly StreamAppendEvent[] = eventsInAppendOrder(appends),
): Promise<StreamAppendRow[]> {
  const result = await pool.query<StreamAppendRow>({
    name: `ef-append-streams-${s}`,
    text: appendStreamsSql(s),
    values: [
      appends.map((a) => a.streamId),
      appends.map((a) => a.category),
      appends.map((a) => (typeof a.expected === 'number' ? 'exact' : a.expected)),
      appends.map((a) => (typeof a.expected === 'number' ? a.expected : null)),
      events.map((e) => e.append + 1),
      events.map((e) => e.ord),
      events.map((e) => e.prepared.event.id),
      events.map((e) => e.prepared.event.type),
      events.map((e) => e.prepared.event.correlationid),
      joinBodies(events.map((e) => e.prepared.json)),
    ],
  });
  return result.rows;
}
