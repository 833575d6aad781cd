import type { FastifyInstance } from 'fastify';
import { RateLimitedError } from '@eventfabric/core';
import { FILTER_PARAMS, eventMatcher, parseEventFilter, storeFilterOf } from '../event-filter.js';
import { endRequestTrace } from '../http/request-trace.js';
import {
  assertKnownParams,
  booleanParam,
  positionParam,
  single,
  type Query,
} from '../http/query.js';
import { assertReads, canSee } from '../auth/principal.js';
import type { RouteContext } from '../route-context.js';
import { SseStream } from '../sse/sse-stream.js';

const SUBSCRIBE_PARAMS = [...FILTER_PARAMS, 'after', 'raw'] as const;
/** What a client refused for too many open streams is told to wait. */
const RETRY_AFTER_FULL_SECONDS = 5;
/**
 * Events a stream's subscription reads per store query: what one slow client can hold in
 * memory while it is waited for.
 */
const SSE_PAGE_SIZE = 100;
/** What EventSource waits before reconnecting, in ms (the SSE `retry:` field). */
const RECONNECT_MS = 1000;

/** The open streams, so shutdown can end them. */
export type SseStreams = Set<SseStream>;

/**
 * `GET /v1/subscribe`: Server-Sent Events of `$all`, filtered as `GET /v1/events` is. The
 * stream starts after `Last-Event-ID` (a reconnecting EventSource sends it), else after
 * `?after=`, else at the end of the log (live only). Each message's `id:` is its event's
 * position, so a resumed stream has no gap and no duplicate.
 */
export function registerSubscribeRoute(
  app: FastifyInstance,
  ctx: RouteContext,
  streams: SseStreams,
): void {
  app.get<{ Querystring: Query }>('/v1/subscribe', async (request, reply) => {
    const query = request.query;
    assertKnownParams(query, SUBSCRIBE_PARAMS);
    const principal = request.principal;
    assertReads(principal);
    const filter = parseEventFilter(query);
    const raw = booleanParam(query, 'raw');
    const lastEventId = request.headers['last-event-id'];
    const resumeFrom =
      positionParam('Last-Event-ID', typeof lastEventId === 'string' ? lastEventId : undefined) ??
      positionParam('after', single(query, 'after'));
    if (streams.size >= ctx.limits.sseMaxClients) {
      throw new RateLimitedError(RETRY_AFTER_FULL_SECONDS, ctx.limits.sseMaxClients, 0);
    }
    const after = resumeFrom ?? (await ctx.store.headPosition());

    const matches = eventMatcher(filter);
    reply.hijack();
    const response = reply.raw;
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    response.write(`retry: ${RECONNECT_MS}\n: subscribed after position ${after}\n\n`);
    endRequestTrace(request.trace, 200);

    const stream = new SseStream(response, {
      heartbeatMs: ctx.limits.sseHeartbeatMs,
      slowClientTimeoutMs: ctx.limits.sseSlowClientTimeoutMs,
      matches: (event) => matches(event) && canSee(principal, event),
      metrics: ctx.metrics,
      logger: request.log,
      stillAuthorized: stillAuthorized(ctx, request.headers.authorization),
    });
    streams.add(stream);
    ctx.metrics.sseClients.inc();
    response.on('close', () => {
      streams.delete(stream);
      ctx.metrics.sseClients.dec();
    });
    stream.attach(
      ctx.store.subscribe({
        ...storeFilterOf(filter),
        after,
        raw,
        batchSize: SSE_PAGE_SIZE,
        handler: stream.deliver,
      }),
    );
  });
}

/** For a keyed server: whether the stream's key is still live (revocation ends the stream). */
function stillAuthorized(
  ctx: RouteContext,
  authorization: string | undefined,
): (() => Promise<boolean>) | undefined {
  const keys = ctx.keys;
  const secret = authorization?.replace(/^Bearer\s+/i, '');
  if (keys === undefined || secret === undefined) return undefined;
  return async () => (await keys.find(secret)) !== undefined;
}
