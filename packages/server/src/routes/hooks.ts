import type { FastifyInstance } from 'fastify';
import type { IncomingWebhooks } from '@eventfabric/webhooks';
import type { RouteContext } from '../route-context.js';

/**
 * Incoming webhooks: `POST /v1/hooks/:source`. The signature is the credential (the server's
 * API keys do not apply: senders such as GitHub cannot send one), checked against the
 * source's configuration on the exact bytes received, so this route reads the raw body
 * whatever its content type. A verified payload is stored as one CloudEvent; a bad
 * signature, a stale timestamp or a replay stores nothing.
 */
export function registerHookRoutes(
  app: FastifyInstance,
  _ctx: RouteContext,
  hooks: IncomingWebhooks | undefined,
): void {
  if (hooks === undefined) return;
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) =>
      done(null, body),
    );
    scope.post<{ Params: { source: string } }>('/v1/hooks/:source', async (request, reply) => {
      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const received = await hooks.receive(request.params.source, request.headers, body);
      return reply.code(201).send(received);
    });
  });
}
