import type { FastifyInstance, FastifyRequest } from 'fastify';
import { InvalidArgumentError, MalformedBodyError, NotFoundError } from '@eventfabric/core';
import type { DeliveryStatus, WebhookService } from '@eventfabric/webhooks';
import { assertAdmin } from '../auth/principal.js';
import { assertKnownParams, limitParam, single, type Query } from '../http/query.js';
import type { RouteContext } from '../route-context.js';

const STATUSES: readonly DeliveryStatus[] = ['pending', 'delivered', 'failed'];

type ById = { Params: { id: string } };
type ByDelivery = { Params: { id: string; deliveryId: string } };

/**
 * Outgoing webhook subscriptions (`/v1/webhooks`): create, list, show, update, delete,
 * rotate the secret, read the delivery log, resend one delivery and recover everything
 * since a time. Every route needs the admin scope, and a key sees only its tenant's
 * subscriptions: another tenant's reads as 404 NOT_FOUND.
 */
export function registerWebhookRoutes(
  app: FastifyInstance,
  ctx: RouteContext,
  webhooks: WebhookService | undefined,
): void {
  if (webhooks === undefined) return;
  app.addHook('onRequest', async (request) => {
    if (request.routeOptions.url?.startsWith('/v1/webhooks') === true) {
      assertAdmin(request.principal);
    }
  });
  const tenant = (request: FastifyRequest) => request.principal.tenant;

  app.post('/v1/webhooks', async (request, reply) => {
    const created = await webhooks.create(tenant(request), objectBody(request.body));
    return reply.code(201).send(created);
  });

  app.get<{ Querystring: Query }>('/v1/webhooks', async (request) => {
    assertKnownParams(request.query, []);
    return { webhooks: await webhooks.list(tenant(request)) };
  });

  app.get<ById>('/v1/webhooks/:id', async (request) =>
    webhooks.get(tenant(request), request.params.id),
  );

  app.patch<ById>('/v1/webhooks/:id', async (request) =>
    webhooks.update(tenant(request), request.params.id, objectBody(request.body)),
  );

  app.delete<ById>('/v1/webhooks/:id', async (request, reply) => {
    await webhooks.delete(tenant(request), request.params.id);
    return reply.code(204).send();
  });

  app.post<ById>('/v1/webhooks/:id/rotate-secret', async (request) =>
    webhooks.rotateSecret(
      tenant(request),
      request.params.id,
      request.body === undefined ? {} : objectBody(request.body),
    ),
  );

  app.get<ById & { Querystring: Query }>('/v1/webhooks/:id/deliveries', async (request) => {
    const query = request.query;
    assertKnownParams(query, ['status', 'limit']);
    const status = single(query, 'status');
    if (status !== undefined && !STATUSES.includes(status as DeliveryStatus)) {
      throw new InvalidArgumentError(`status must be one of ${STATUSES.join(', ')}`, {
        parameter: 'status',
        value: status,
      });
    }
    const limit = limitParam(query, 100, ctx.limits.maxPageSize);
    return {
      deliveries: await webhooks.deliveries(tenant(request), request.params.id, {
        status: status as DeliveryStatus | undefined,
        limit,
      }),
    };
  });

  app.get<ById & { Querystring: Query }>('/v1/webhooks/:id/attempts', async (request) => {
    assertKnownParams(request.query, ['limit']);
    const limit = limitParam(request.query, 100, ctx.limits.maxPageSize);
    return { attempts: await webhooks.attempts(tenant(request), request.params.id, limit) };
  });

  app.get<ByDelivery>('/v1/webhooks/:id/deliveries/:deliveryId', async (request) =>
    ownDelivery(webhooks, request),
  );

  app.post<ByDelivery>('/v1/webhooks/:id/deliveries/:deliveryId/resend', async (request) => {
    await ownDelivery(webhooks, request);
    return { delivery: await webhooks.resend(tenant(request), request.params.deliveryId) };
  });

  app.post<ById>('/v1/webhooks/:id/recover', async (request) => {
    const body = objectBody(request.body);
    for (const key of Object.keys(body)) {
      if (key !== 'since') {
        throw new InvalidArgumentError(`unknown field "${key}"; expected since`, { field: key });
      }
    }
    return webhooks.recover(tenant(request), request.params.id, body.since);
  });
}

/** A delivery of the subscription in the path, visible to the key's tenant. */
async function ownDelivery(webhooks: WebhookService, request: FastifyRequest<ByDelivery>) {
  const { id, deliveryId } = request.params;
  const found = await webhooks.delivery(request.principal.tenant, deliveryId);
  if (found.delivery.subscriptionId !== id) {
    throw new NotFoundError(`webhook delivery ${deliveryId} not found`, {
      resource: 'webhook-delivery',
      id: deliveryId,
    });
  }
  return found;
}

function objectBody(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new MalformedBodyError('the body must be a JSON object', {
      reason: 'not an object',
    });
  }
  return body as Record<string, unknown>;
}
