import type { DeadLetterStore, SchemaRegistry } from '@eventfabric/core';
import type { ApiKeyStore } from './auth/api-keys.js';
import type { Principal } from './auth/principal.js';
import type { RequestTrace } from './http/request-trace.js';
import type {
  ProjectionSetup,
  Redrive,
  ReplaySetup,
  ServerEventStore,
  ServerLimits,
} from './server-options.js';
import type { TransportHealth } from './transport-health.js';
import type { ServerMetrics } from './server-metrics.js';

/** What every route module gets from {@link createServer}. */
export interface RouteContext {
  store: ServerEventStore;
  schemas: SchemaRegistry | undefined;
  deadLetters: DeadLetterStore | undefined;
  redrive: Redrive | undefined;
  replays: ReplaySetup | undefined;
  projections: ProjectionSetup | undefined;
  transport: TransportHealth | undefined;
  limits: ServerLimits;
  metrics: ServerMetrics;
  keys: ApiKeyStore | undefined;
  /** True once the server has begun to close: readiness fails, SSE streams end. */
  closing(): boolean;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The trace this request runs in (set on every request before its handler). */
    trace: RequestTrace;
    /** Who the request acts as (set on every `/v1` request before its handler). */
    principal: Principal;
  }
}
