import type { FastifyInstance } from 'fastify';
import { EventFabricError, StoreUnavailableError } from '@eventfabric/core';
import { errorBody } from '../http/error-handler.js';
import type { RouteContext } from '../route-context.js';

/** How long `/readyz` waits for the store before it answers not ready. */
const READY_TIMEOUT_MS = 2000;

/**
 * `/healthz`: the process answers (liveness). `/readyz`: the store answers a read within
 * {@link READY_TIMEOUT_MS} and the server is not closing (readiness): 200, else 503 with the
 * error. `/metrics`: Prometheus text. None of them is rate limited.
 */
export function registerProbeRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const config = { rateLimit: false };

  app.get('/healthz', { config }, async () => ({ status: 'ok' }));

  app.get('/readyz', { config }, async (_request, reply) => {
    try {
      if (ctx.closing()) throw new StoreUnavailableError('the server is shutting down');
      const head = await withTimeout(ctx.store.headPosition(), READY_TIMEOUT_MS);
      return { status: 'ready', store: { status: 'ok', head } };
    } catch (error) {
      const failure =
        error instanceof EventFabricError
          ? error
          : new StoreUnavailableError(`the store did not answer: ${(error as Error).message}`);
      return reply.code(503).send({
        status: 'not_ready',
        ...errorBody(failure.code, failure.message, failure.details),
      });
    }
  });

  app.get('/metrics', { config }, async (_request, reply) => {
    const registry = ctx.metrics.registry;
    return reply.header('content-type', registry.contentType).send(await registry.metrics());
  });
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
