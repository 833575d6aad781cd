import type { Pool } from 'pg';
import type { ExpectedVersion, PreparedEvent } from '@eventfabric/core';

/** One append inside a combined statement: at most one per stream. */
export interface StreamAppend {
  streamId: string;
  category: string;
  prepared: readonly PreparedEvent[];
  expected: ExpectedVersion;
}

/**
 * One row per inserted event (with `position`), and one row per append whose expected
 * version did not hold (`position` null, `current_version` set).
 */
export interface StreamAppendRow {
  stream_id: string;
  current_version: string | null;
  position: string | null;
  stream_version: string | null;
}

/**
 * Several appends, to distinct streams, in one statement (one round trip, one implicit
 * transaction, one commit): the store's group commit for concurrent appends. Each append's
 * expected version is checked on its own: one that fails inserts nothing and reports its
 * stream's version, the others are stored. Positions follow the input order. A unique
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
      FROM unnest($5::bigint[], $6::bigint[], $7::text[], $8::text[], $9::text[], $10::text[])
          WITH ORDINALITY AS v(idx, ord, event_id, type, correlation_id, body, n)
        JOIN ok ON ok.idx = v.idx
      ORDER BY v.n
      RETURNING stream_id, position, stream_version
    )
    SELECT stream_id, NULL::bigint AS current_version, position, stream_version FROM inserted
    UNION ALL
    SELECT a.stream_id, a.version, NULL, NULL FROM a WHERE a.idx NOT IN (SELECT idx FROM ok)`;
}

export async function appendStreams(
  pool: Pick<Pool, 'query'>,
  s: string,
  appends: readonly StreamAppend[],
): Promise<StreamAppendRow[]> {
  const streams: string[] = [];
  const categories: string[] = [];
  const kinds: string[] = [];
  const expectations: (number | null)[] = [];
  const owners: number[] = [];
  const ordinals: number[] = [];
  const ids: string[] = [];
  const types: string[] = [];
  const correlations: (string | undefined)[] = [];
  const bodies: string[] = [];
  appends.forEach((append, i) => {
    streams.push(append.streamId);
    categories.push(append.category);
    kinds.push(typeof append.expected === 'number' ? 'exact' : append.expected);
    expectations.push(typeof append.expected === 'number' ? append.expected : null);
    append.prepared.forEach(({ event, json }, ord) => {
      owners.push(i + 1);
      ordinals.push(ord + 1);
      ids.push(event.id);
      types.push(event.type);
      correlations.push(event.correlationid);
      bodies.push(json);
    });
  });
  const result = await pool.query<StreamAppendRow>({
    name: `ef-append-streams-${s}`,
    text: appendStreamsSql(s),
    values: [
      streams,
      categories,
      kinds,
      expectations,
      owners,
      ordinals,
      ids,
      types,
      correlations,
      bodies,
    ],
  });
  return result.rows;
}
