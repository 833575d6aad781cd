import {
  assertStreamId,
  compileTopics,
  streamCategory,
  type AllFilter,
  type StoredEvent,
} from '@eventfabric/core';
import { list, single, timeParam, type Query } from './http/query.js';

/**
 * What `GET /v1/events` and `GET /v1/subscribe` filter on. Every given filter must match
 * (AND); the values of one list are alternatives (OR).
 */
export interface EventFilter {
  /** Topic patterns: `treasury.*`, `*.approved.v1`, an exact type, or `*`. */
  types?: string[];
  /** Stream categories: the part of the stream id before its first `-`. */
  categories?: string[];
  /** One stream id. */
  stream?: string;
  correlationId?: string;
  /** Event `time` at or after (ms since the epoch). */
  since?: number;
  /** Event `time` before (ms since the epoch). */
  until?: number;
}

/** The query parameters an {@link EventFilter} is read from. */
export const FILTER_PARAMS = [
  'type',
  'category',
  'stream',
  'correlationid',
  'since',
  'until',
] as const;

/**
 * Read the filter from a query string.
 * @throws InvalidArgumentError for a malformed pattern, stream id or time
 */
export function parseEventFilter(query: Query): EventFilter {
  const filter: EventFilter = {
    types: list(query, 'type'),
    categories: list(query, 'category'),
    stream: single(query, 'stream'),
    correlationId: single(query, 'correlationid'),
    since: timeParam(query, 'since'),
    until: timeParam(query, 'until'),
  };
  if (filter.types) compileTopics(filter.types);
  if (filter.stream !== undefined) assertStreamId(filter.stream);
  return filter;
}

/** The part of the filter the store applies itself, so fewer rows come back to be tested. */
export function storeFilterOf(filter: EventFilter): AllFilter {
  const pushed: AllFilter = {};
  if (filter.types) {
    const prefixes = filter.types.map(literalPrefix);
    // One pattern with no literal prefix (`*`, `*.approved.v1`) admits any prefix.
    if (!prefixes.includes('')) pushed.typePrefixes = prefixes;
  }
  if (filter.stream !== undefined) pushed.categories = [streamCategory(filter.stream)];
  else if (filter.categories) pushed.categories = filter.categories;
  return pushed;
}

/** The whole filter as a predicate, applied to what the store returns. */
export function eventMatcher(filter: EventFilter): (event: StoredEvent) => boolean {
  const typeMatches = filter.types ? compileTopics(filter.types) : undefined;
  const { categories, stream, correlationId, since, until } = filter;
  return (event) => {
    if (typeMatches && !typeMatches(event.type)) return false;
    if (categories && !categories.includes(streamCategory(event.subject))) return false;
    if (stream !== undefined && event.subject !== stream) return false;
    if (correlationId !== undefined && event.correlationid !== correlationId) return false;
    if (since !== undefined || until !== undefined) {
      const time = Date.parse(event.time);
      if (since !== undefined && !(time >= since)) return false;
      if (until !== undefined && !(time < until)) return false;
    }
    return true;
  };
}

/**
 * The literal start of a topic pattern, as a type prefix: `treasury.*` → `treasury.`; an
 * exact type is its own prefix; `*` and `*.x` have none.
 */
function literalPrefix(pattern: string): string {
  const segments = pattern.split('.');
  const wild = segments.indexOf('*');
  if (wild === -1) return pattern;
  return wild === 0 ? '' : `${segments.slice(0, wild).join('.')}.`;
}
