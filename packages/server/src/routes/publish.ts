import type { FastifyInstance } from 'fastify';
import { BatchTooLargeError } from '@eventfabric/core';
import { assertStreamsOwned, claimForTenant } from '../auth/principal.js';
import { receiveEvents } from '../http/cloudevents-http.js';
import type { RouteContext } from '../route-context.js';

/** What a publish answers. */
export interface PublishResponse {
  /** Each event's global position, in the order sent. */
  positions: string[];
  /** How many were already stored (a retried publish) and kept their first position. */
  duplicates: number;
}

/**
 * `POST /v1/events`: publish CloudEvents in structured, batch or binary mode. Every event
 * goes to the stream its `subject` names, all in one `appendMany`: the batch is stored whole,
 * in the order sent, or not at all. An event without `traceparent` joins the request's trace.
 * Answers 201 with the positions, or 200 when every event was already stored.
 */
export function registerPublishRoute(app: FastifyInstance, ctx: RouteContext): void {
  app.post('/v1/events', async (request, reply) => {
    const { mode, events } = receiveEvents(request.headers, request.body);
    if (events.length > ctx.limits.maxBatchSize) {
      throw new BatchTooLargeError(events.length, ctx.limits.maxBatchSize);
    }
    claimForTenant(request.principal, events);
    await assertStreamsOwned(
      ctx.store,
      request.principal,
      events.flatMap((e) => (typeof e.subject === 'string' && e.subject !== '' ? [e.subject] : [])),
    );
    const traceparent = request.trace.traceparent;
    for (const event of events) {
      if (event.traceparent === undefined) event.traceparent = traceparent;
    }
    const result = await ctx.store.appendMany(events);
    const stored = events.length - result.duplicates;
    if (stored > 0) ctx.metrics.published.inc({ mode }, stored);
    const body: PublishResponse = { positions: result.positions, duplicates: result.duplicates };
    return reply.code(stored > 0 ? 201 : 200).send(body);
  });
}
