import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  BatchTooLargeError,
  InvalidArgumentError,
  MalformedBodyError,
  NotFoundError,
  UnsupportedMediaTypeError,
  type ExpectedVersion,
} from '@eventfabric/core';
import { assertReads, assertStreamsOwned, canSee, claimForTenant } from '../auth/principal.js';
import { ACCEPTED_CONTENT_TYPES, mediaType } from '../http/body-parsers.js';
import {
  assertKnownParams,
  booleanParam,
  integerParam,
  limitParam,
  single,
  type Query,
} from '../http/query.js';
import type { RouteContext } from '../route-context.js';

const READ_PARAMS = ['from', 'direction', 'limit', 'raw'] as const;
const APPEND_PARAMS = ['expectedVersion'] as const;
/** What a stream read returns when no `limit` is given. */
const DEFAULT_READ_LIMIT = 100;

/**
 * `POST /v1/streams/:id` appends to one stream, atomically, with the expected version from
 * `If-Match` (`"3"`, or `*` for "the stream exists"), `If-None-Match: *` ("no stream yet") or
 * `?expectedVersion=`. `GET /v1/streams/:id` reads it, with the stream's version as `ETag`.
 */
export function registerStreamRoutes(app: FastifyInstance, ctx: RouteContext): void {
  app.post<{ Params: { id: string }; Querystring: Query }>(
    '/v1/streams/:id',
    async (request, reply) => {
      assertKnownParams(request.query, APPEND_PARAMS);
      const streamId = request.params.id;
      const expectedVersion = expectedVersionOf(request);
      const events = appendBody(request);
      if (events.length > ctx.limits.maxBatchSize) {
        throw new BatchTooLargeError(events.length, ctx.limits.maxBatchSize);
      }
      claimForTenant(request.principal, events);
      await assertStreamsOwned(ctx.store, request.principal, [streamId]);
      const traceparent = request.trace.traceparent;
      for (const event of events) {
        if (event.traceparent === undefined) event.traceparent = traceparent;
      }
      const result = await ctx.store.appendToStream(streamId, events, { expectedVersion });
      if (!result.deduplicated) ctx.metrics.published.inc({ mode: 'append' }, events.length);
      return reply
        .code(result.deduplicated ? 200 : 201)
        .header('etag', `"${result.streamVersion}"`)
        .send({ streamId, ...result });
    },
  );

  app.get<{ Params: { id: string }; Querystring: Query }>(
    '/v1/streams/:id',
    async (request, reply) => {
      const query = request.query;
      assertKnownParams(query, READ_PARAMS);
      const principal = request.principal;
      assertReads(principal);
      const streamId = request.params.id;
      const direction = single(query, 'direction') ?? 'forwards';
      if (direction !== 'forwards' && direction !== 'backwards') {
        throw new InvalidArgumentError('direction must be forwards or backwards', { direction });
      }
      const limit = limitParam(query, DEFAULT_READ_LIMIT, ctx.limits.maxPageSize);
      const fromParam = single(query, 'from');
      const from =
        fromParam === undefined
          ? undefined
          : integerParam('from', fromParam, 0, Number.MAX_SAFE_INTEGER);
      const raw = booleanParam(query, 'raw');
      const streamVersion = await ctx.store.streamVersion(streamId);
      // Another tenant's stream reads as missing: its existence is not this key's business.
      const owned =
        principal.tenant === undefined ||
        (await ctx.store.readStream(streamId, { limit: 1, raw: true }))[0]?.tenantid ===
          principal.tenant;
      if (streamVersion < 0 || !owned) {
        throw new NotFoundError(`stream ${streamId} does not exist`, {
          resource: 'stream',
          streamId,
        });
      }
      // One more than asked shows whether another page follows.
      const events = await ctx.store.readStream(streamId, {
        direction,
        fromVersion: from,
        limit: limit + 1,
        raw,
      });
      const page = events.slice(0, limit).filter((event) => canSee(principal, event));
      const following = events[limit];
      return reply.header('etag', `"${streamVersion}"`).send({
        streamId,
        streamVersion,
        events: page,
        next: following === undefined ? null : following.streamversion,
      });
    },
  );
}

/** The events of an append: one JSON object, or an array of them. */
function appendBody(request: FastifyRequest): Record<string, unknown>[] {
  const contentType = mediaType(request.headers['content-type']);
  if (contentType === undefined || !ACCEPTED_CONTENT_TYPES.includes(contentType)) {
    throw new UnsupportedMediaTypeError(request.headers['content-type'], ACCEPTED_CONTENT_TYPES);
  }
  const body = request.body;
  const items = Array.isArray(body) ? (body as unknown[]) : [body];
  return items.map((item) => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      throw new MalformedBodyError('each event must be a JSON object', { contentType });
    }
    return item as Record<string, unknown>;
  });
}

/**
 * The expectation, from exactly one of `If-Match`, `If-None-Match: *` and
 * `?expectedVersion=`; `'any'` when none is given.
 */
function expectedVersionOf(request: FastifyRequest<{ Querystring: Query }>): ExpectedVersion {
  const found: { source: string; value: ExpectedVersion }[] = [];
  const ifMatch = request.headers['if-match'];
  if (ifMatch !== undefined) found.push({ source: 'If-Match', value: fromIfMatch(ifMatch) });
  const ifNoneMatch = request.headers['if-none-match'];
  if (ifNoneMatch !== undefined) {
    if (ifNoneMatch.trim() !== '*') {
      throw new InvalidArgumentError('If-None-Match takes only * (the stream must not exist)', {
        header: 'If-None-Match',
        value: ifNoneMatch,
      });
    }
    found.push({ source: 'If-None-Match', value: 'no_stream' });
  }
  const param = single(request.query, 'expectedVersion');
  if (param !== undefined) found.push({ source: 'expectedVersion', value: fromParam(param) });
  if (found.length > 1) {
    throw new InvalidArgumentError(
      `give the expected version once: ${found.map((f) => f.source).join(' and ')} are both set`,
      { sources: found.map((f) => f.source) },
    );
  }
  return found[0]?.value ?? 'any';
}

/** `*`, or one entity tag holding a version: `"3"`, `W/"3"` or `3`. */
function fromIfMatch(header: string): ExpectedVersion {
  const value = header.trim();
  if (value === '*') return 'stream_exists';
  const match = /^(?:W\/)?"?(-1|0|[1-9][0-9]{0,15})"?$/.exec(value);
  if (match === null || !Number.isSafeInteger(Number(match[1]))) {
    throw new InvalidArgumentError(
      `If-Match must be * or one stream version such as "3", got ${JSON.stringify(header)}`,
      { header: 'If-Match', value: header },
    );
  }
  return Number(match[1]);
}

function fromParam(value: string): ExpectedVersion {
  if (value === 'any' || value === 'no_stream' || value === 'stream_exists') return value;
  if (/^(-1|0|[1-9][0-9]{0,15})$/.test(value) && Number.isSafeInteger(Number(value))) {
    return Number(value);
  }
  throw new InvalidArgumentError(
    `expectedVersion must be any, no_stream, stream_exists or a version ≥ -1, got "${value}"`,
    { parameter: 'expectedVersion', value },
  );
}
