import { createHash } from 'node:crypto';
import { trace } from '@opentelemetry/api';
import rateLimit from '@fastify/rate-limit';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyRequest,
} from 'fastify';
import { pino } from 'pino';
import { InvalidArgumentError, RateLimitedError } from '@eventfabric/core';
import { OPEN_PRINCIPAL, authenticate } from './auth/principal.js';
import { installBodyParsers } from './http/body-parsers.js';
import { installErrorHandling } from './http/error-handler.js';
import { endRequestTrace, startRequestTrace } from './http/request-trace.js';
import type { RouteContext } from './route-context.js';
import { registerDeadLetterRoutes } from './routes/dead-letters.js';
import { registerHookRoutes } from './routes/hooks.js';
import { registerProbeRoutes } from './routes/probes.js';
import { registerProjectionRoutes } from './routes/projections.js';
import { registerPublishRoute } from './routes/publish.js';
import { registerQueryRoute } from './routes/query.js';
import { registerReplayRoutes } from './routes/replays.js';
import { registerSchemaRoutes } from './routes/schemas.js';
import { registerStreamRoutes } from './routes/streams.js';
import { registerSubscribeRoute, type SseStreams } from './routes/subscribe.js';
import { registerWebhookRoutes } from './routes/webhooks.js';
import { ServerMetrics } from './server-metrics.js';
import { resolveServerLimits, type ServerOptions } from './server-options.js';
import { registerTransportMetrics } from './transport-health.js';

/** The port `listen` uses when none is given. */
export const DEFAULT_PORT = 4400;
/** The host `listen` binds when none is given: loopback only. */
export const DEFAULT_HOST = '127.0.0.1';

/** Where to listen. */
export interface ListenOptions {
  /** 0 picks a free port. @defaultValue {@link DEFAULT_PORT} */
  port?: number;
  /** @defaultValue {@link DEFAULT_HOST} */
  host?: string;
}

/** One route of the server: a method and its URL pattern, e.g. `GET /v1/streams/:id`. */
export interface ServerRoute {
  method: string;
  url: string;
}

/** A configured EventFabric HTTP server. */
export interface EventFabricServer {
  /** The Fastify instance: `app.inject()` answers requests without a socket. */
  readonly app: FastifyInstance;
  readonly metrics: ServerMetrics;
  /** Every route the server answers (HEAD excepted), in registration order: what tests enumerate. */
  readonly routes: readonly ServerRoute[];
  /** Start accepting connections; resolves with the base URL, e.g. `http://127.0.0.1:4400`. */
  listen(options?: ListenOptions): Promise<string>;
  /**
   * Shut down gracefully: stop accepting connections, answer 503 to new requests on open
   * ones, end SSE streams (each is told `shutdown`), and wait for requests in flight. The
   * store stays open: its owner closes it afterwards. Idempotent.
   */
  close(): Promise<void>;
}

/**
 * Build the HTTP server (DESIGN.md's `/v1` routes) over a store. Nothing listens until
 * {@link EventFabricServer.listen}.
 * @throws InvalidArgumentError for a missing store or a bad limit
 */
export async function createServer(options: ServerOptions): Promise<EventFabricServer> {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidArgumentError('server options are required');
  }
  const { store } = options;
  if (typeof store?.appendMany !== 'function' || typeof store.subscribe !== 'function') {
    throw new InvalidArgumentError(
      'the server needs an event store with appendMany (the SQLite or PostgreSQL store)',
    );
  }
  const limits = resolveServerLimits(options.limits);
  const logger = options.logger ?? pino({ level: 'silent' });
  const tracer = options.tracer ?? trace.getTracer('eventfabric-server');
  const metrics = new ServerMetrics(options.registry, options.deadLetters);
  if (options.transport !== undefined)
    registerTransportMetrics(metrics.registry, options.transport);
  let closing = false;
  const streams: SseStreams = new Set();

  const app: FastifyInstance = Fastify({
    // pino's Logger is a FastifyBaseLogger; the cast keeps the instance's default type.
    loggerInstance: logger as FastifyBaseLogger,
    bodyLimit: limits.bodyLimitBytes,
    // One line per request at info would dominate a busy server's output: requests are
    // logged at debug, failures at info (4xx) and error (5xx) by the error handler.
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
  });
  installBodyParsers(app);
  installErrorHandling(app, limits.bodyLimitBytes);
  const routes: ServerRoute[] = [];
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) {
      if (method !== 'HEAD') routes.push({ method, url: route.url });
    }
  });

  app.decorateRequest('trace', undefined as never);
  app.addHook('onRequest', async (request) => {
    const route = request.routeOptions.url ?? 'unmatched';
    request.trace = startRequestTrace(
      tracer,
      `${request.method} ${route}`,
      request.headers.traceparent,
      {
        'http.request.method': request.method,
        'http.route': route,
      },
    );
    request.log = request.log.child({
      traceId: request.trace.traceId,
      spanId: request.trace.spanId,
    });
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const labels = { method: request.method, route };
    metrics.observeRequest(
      labels,
      reply.statusCode,
      reply.elapsedTime / 1000,
      request.trace?.traceId,
    );
    endRequestTrace(request.trace, reply.statusCode);
    request.log.debug(
      { method: request.method, url: request.url, status: reply.statusCode, ms: reply.elapsedTime },
      'request completed',
    );
  });

  if (limits.rateLimitMax > 0) {
    await app.register(rateLimit, {
      max: limits.rateLimitMax,
      timeWindow: limits.rateLimitWindowMs,
      keyGenerator: rateLimitKey,
      errorResponseBuilder: (_request, context) =>
        new RateLimitedError(
          Math.max(1, Math.ceil(context.ttl / 1000)),
          context.max,
          limits.rateLimitWindowMs,
        ),
    });
  }

  const keys = options.keys;
  app.decorateRequest('principal', undefined as never);
  // After the rate limit, so unauthenticated floods are limited too.
  app.addHook('onRequest', async (request) => {
    // The matched route, never the raw URL: `/%761/events` reaches the `/v1/events` handler.
    const route = request.routeOptions.url;
    // Incoming webhooks authenticate by their signature instead (routes/hooks.ts).
    request.principal =
      route === undefined || (route.startsWith('/v1/') && !route.startsWith('/v1/hooks/'))
        ? await authenticate(request, keys)
        : OPEN_PRINCIPAL;
  });

  const ctx: RouteContext = {
    store,
    schemas: options.schemas,
    deadLetters: options.deadLetters,
    redrive: options.redrive,
    replays: options.replays,
    projections: options.projections,
    transport: options.transport,
    limits,
    metrics,
    keys,
    closing: () => closing,
  };
  registerProbeRoutes(app, ctx);
  registerPublishRoute(app, ctx);
  registerStreamRoutes(app, ctx);
  registerQueryRoute(app, ctx);
  registerSubscribeRoute(app, ctx, streams);
  registerSchemaRoutes(app, ctx);
  registerDeadLetterRoutes(app, ctx);
  registerWebhookRoutes(app, ctx, options.webhooks);
  registerHookRoutes(app, ctx, options.hooks);
  const replays = registerReplayRoutes(app, ctx, logger);
  const rebuilds = registerProjectionRoutes(app, ctx, logger);

  app.addHook('preClose', async () => {
    closing = true;
    for (const stream of streams) stream.end('shutdown');
  });
  // Replays stop at their next page and rebuilds at once; both resume from their records.
  app.addHook('onClose', async () => {
    await Promise.all([replays?.stop(), rebuilds?.stop()]);
  });

  let closed: Promise<void> | undefined;
  return {
    app,
    metrics,
    routes,
    async listen(listenOptions: ListenOptions = {}) {
      return app.listen({
        port: listenOptions.port ?? DEFAULT_PORT,
        host: listenOptions.host ?? DEFAULT_HOST,
      });
    },
    close() {
      closed ??= app.close();
      return closed;
    },
  };
}

/**
 * Rate limits count per client: its credentials when it sends any (hashed, so the key never
 * sits in memory in the clear), else its IP address.
 */
function rateLimitKey(request: FastifyRequest): string {
  const authorization = request.headers.authorization;
  if (typeof authorization === 'string' && authorization !== '') {
    return `key:${createHash('sha256').update(authorization).digest('base64url')}`;
  }
  return `ip:${request.ip}`;
}
