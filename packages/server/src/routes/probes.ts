import type { FastifyInstance } from 'fastify';
import {
  EventFabricError,
  StoreUnavailableError,
  TransportUnavailableError,
} from '@eventfabric/core';
import { errorBody } from '../http/error-handler.js';
import type { RouteContext } from '../route-context.js';

/** How long `/readyz` waits for the store before it answers not ready. */
const READY_TIMEOUT_MS = 2000;

/**
 * `/healthz`: the process answers (liveness). `/readyz` (readiness): the store answers a read
 * within {@link READY_TIMEOUT_MS}, the broker transport (when there is one) answers too, and
 * the server is not closing: 200, else 503 with each part's status and the first error.
 * `/metrics`: Prometheus text. None of them is rate limited.
 */
export function registerProbeRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const config = { rateLimit: false };

  app.get('/healthz', { config }, async () => ({ status: 'ok' }));

  app.get('/readyz', { config }, async (_request, reply) => {
    if (ctx.closing()) {
      const failure = new StoreUnavailableError('the server is shutting down');
      return reply.code(503).send({
        status: 'not_ready',
        ...errorBody(failure.code, failure.message, failure.details),
      });
    }
    const transport = ctx.transport;
    const [store, broker] = await Promise.all([
      check(
        async () => ({ head: await ctx.store.headPosition() }),
        (message) => new StoreUnavailableError(`the store did not answer: ${message}`),
      ),
      transport === undefined
        ? undefined
        : check(
            () => transport.ready(),
            (message) =>
              new TransportUnavailableError(
                `the ${transport.kind} transport did not answer: ${message}`,
              ),
          ),
    ]);
    const parts = {
      store: store.part,
      ...(transport === undefined || broker === undefined
        ? {}
        : { transport: { kind: transport.kind, location: transport.location, ...broker.part } }),
    };
    const failure = store.failure ?? broker?.failure;
    if (failure === undefined) return { status: 'ready', ...parts };
    return reply.code(503).send({
      status: 'not_ready',
      ...parts,
      ...errorBody(failure.code, failure.message, failure.details),
    });
  });

  app.get('/metrics', { config }, async (_request, reply) => {
    const registry = ctx.metrics.registry;
    return reply.header('content-type', registry.contentType).send(await registry.metrics());
  });
}

/** One part of readiness: `{status:'ok', …details}`, or `{status:'failed', code}` and the error. */
async function check(
  probe: () => Promise<Record<string, unknown>>,
  wrap: (message: string) => EventFabricError,
): Promise<{ part: Record<string, unknown>; failure?: EventFabricError }> {
  try {
    return { part: { status: 'ok', ...(await withTimeout(probe(), READY_TIMEOUT_MS)) } };
  } catch (error) {
    const failure = error instanceof EventFabricError ? error : wrap((error as Error).message);
    return { part: { status: 'failed', code: failure.code }, failure };
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
