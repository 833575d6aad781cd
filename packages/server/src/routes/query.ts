import type { FastifyInstance } from 'fastify';
import type { StoredEvent } from '@eventfabric/core';
import {
  FILTER_PARAMS,
  eventMatcher,
  parseEventFilter,
  storeFilterOf,
  type EventFilter,
} from '../event-filter.js';
import {
  assertKnownParams,
  booleanParam,
  limitParam,
  positionParam,
  single,
  type Query,
} from '../http/query.js';
import { assertReads, canSee } from '../auth/principal.js';
import type { RouteContext } from '../route-context.js';
import type { ServerEventStore } from '../server-options.js';

const QUERY_PARAMS = [...FILTER_PARAMS, 'after', 'limit', 'raw'] as const;
const DEFAULT_QUERY_LIMIT = 100;
/** Rows read per store call while filtering. */
const SCAN_PAGE = 1000;
/**
 * Rows one request may scan for a sparse filter before it answers with what it has and a
 * cursor: a query never holds the store for long, and the client pages on.
 */
const SCAN_BUDGET = 20_000;

/** What `GET /v1/events` answers. */
export interface QueryResponse {
  events: StoredEvent[];
  /** The cursor to pass as `after` for the next page. */
  next: string;
  /** False when the scan reached the end of the log: nothing more matches yet. */
  more: boolean;
}

/**
 * `GET /v1/events`: `$all` filtered by type pattern, category, stream, correlation id and
 * event time, in position order, from the `after` cursor. Type prefixes and categories are
 * applied by the store; the rest by the server, over at most {@link SCAN_BUDGET} rows.
 */
export function registerQueryRoute(app: FastifyInstance, ctx: RouteContext): void {
  app.get<{ Querystring: Query }>('/v1/events', async (request) => {
    const query = request.query;
    assertKnownParams(query, QUERY_PARAMS);
    const principal = request.principal;
    assertReads(principal);
    const filter = parseEventFilter(query);
    const after = positionParam('after', single(query, 'after')) ?? '0';
    const limit = limitParam(query, DEFAULT_QUERY_LIMIT, ctx.limits.maxPageSize);
    const raw = booleanParam(query, 'raw');
    const matches = eventMatcher(filter);
    return scan(ctx.store, filter, (e) => matches(e) && canSee(principal, e), after, limit, raw);
  });
}

async function scan(
  store: ServerEventStore,
  filter: EventFilter,
  matches: (event: StoredEvent) => boolean,
  after: string,
  limit: number,
  raw: boolean,
): Promise<QueryResponse> {
  const pushed = storeFilterOf(filter);
  const events: StoredEvent[] = [];
  let cursor = after;
  let scanned = 0;
  while (scanned < SCAN_BUDGET) {
    const page =
      filter.correlationId !== undefined
        ? await store.readByCorrelation(filter.correlationId, {
            after: cursor,
            limit: SCAN_PAGE,
            raw,
          })
        : await store.readAll({ ...pushed, after: cursor, limit: SCAN_PAGE, raw });
    for (const event of page) {
      scanned++;
      cursor = event.position;
      if (!matches(event)) continue;
      events.push(event);
      if (events.length === limit) return { events, next: cursor, more: true };
    }
    if (page.length < SCAN_PAGE) return { events, next: cursor, more: false };
  }
  return { events, next: cursor, more: true };
}
