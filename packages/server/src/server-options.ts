import type { Tracer } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { Registry, RegistryContentType } from 'prom-client';
import {
  InvalidArgumentError,
  type AppendManyResult,
  type CompiledProjection,
  type DeadLetterFilter,
  type DeadLetterStore,
  type EventHandler,
  type EventSchemas,
  type EventStore,
  type ProcessedEvents,
  type ProjectionStorage,
  type RedriveResult,
  type SchemaRegistry,
} from '@eventfabric/core';
import type { IncomingWebhooks, WebhookService } from '@eventfabric/webhooks';
import type { ApiKeyStore } from './auth/api-keys.js';
import type { TransportHealth } from './transport-health.js';

/**
 * The store a server writes to: any {@link EventStore} that can also append a batch across
 * streams atomically (`appendMany`: the SQLite and PostgreSQL stores). Publishing a batch is
 * one `appendMany`, so a batch is stored whole or not at all.
 */
export type ServerEventStore = EventStore & {
  appendMany(events: readonly unknown[]): Promise<AppendManyResult>;
};

/** Re-runs dead letters through their handlers (what `POST /v1/dlq/retry` calls). */
export type Redrive = (
  filter: Pick<DeadLetterFilter, 'ids' | 'handler' | 'type'>,
) => Promise<RedriveResult>;

/** What `/v1/replays` runs: core's `replay()` of one of these handlers over the store's log. */
export interface ReplaySetup {
  /** The handlers a replay may name (the config file's, under `eventfabric serve`). */
  handlers: readonly EventHandler[];
  /** The handlers' idempotency record: what they already processed is skipped. */
  processed: ProcessedEvents;
  /** The service the handlers run in. @defaultValue `replay` */
  service?: string;
  /** Upcast events before handlers see them. @defaultValue none */
  schemas?: EventSchemas;
  /** Finished replays kept for `GET /v1/replays`. @defaultValue 100 */
  keepFinished?: number;
}

/** What `/v1/projections` lists, inspects and rebuilds. */
export interface ProjectionSetup {
  /** The configured projections (`defineProjection` results). */
  projections: readonly CompiledProjection[];
  /** Their storage in the store's database (`SqliteProjectionStorage`, `PostgresProjectionStorage`). */
  storage: ProjectionStorage;
}

/** Limits on what one request, client or stream may use. */
export interface ServerLimits {
  /**
   * Largest request body, in bytes; a larger one fails with PAYLOAD_TOO_LARGE (413).
   * @defaultValue 4 MiB
   */
  bodyLimitBytes: number;
  /**
   * Most events in one publish or append; more fail with BATCH_TOO_LARGE (413).
   * @defaultValue 1000
   */
  maxBatchSize: number;
  /**
   * Most events one read or query returns (its `limit` may not exceed it).
   * @defaultValue 1000
   */
  maxPageSize: number;
  /**
   * Requests per `rateLimitWindowMs` per client (its API key, else its IP address); more
   * fail with RATE_LIMITED (429) and a `Retry-After` header. 0 turns rate limiting off.
   * @defaultValue 6000
   */
  rateLimitMax: number;
  /** @defaultValue 60 000 */
  rateLimitWindowMs: number;
  /**
   * How often an idle SSE stream gets a comment line, so proxies keep it open.
   * @defaultValue 15 000
   */
  sseHeartbeatMs: number;
  /**
   * How long an SSE client's socket may stay full before the client is dropped with
   * SLOW_CONSUMER. Meanwhile its subscription waits: the server holds at most one page of
   * its events in memory.
   * @defaultValue 30 000
   */
  sseSlowClientTimeoutMs: number;
  /**
   * Open SSE streams at once; one more fails with RATE_LIMITED (429).
   * @defaultValue 1000
   */
  sseMaxClients: number;
}

/** The defaults of {@link ServerLimits}: the one place they live. */
export const DEFAULT_SERVER_LIMITS: Readonly<ServerLimits> = Object.freeze({
  bodyLimitBytes: 4 * 1024 * 1024,
  maxBatchSize: 1000,
  maxPageSize: 1000,
  rateLimitMax: 6000,
  rateLimitWindowMs: 60_000,
  sseHeartbeatMs: 15_000,
  sseSlowClientTimeoutMs: 30_000,
  sseMaxClients: 1000,
});

/** Options for {@link createServer}. */
export interface ServerOptions {
  /** Where events are appended and read. The caller owns it: the server never closes it. */
  store: ServerEventStore;
  /**
   * The schema registry behind `/v1/schemas`. Validation on publish and append is the
   * store's (`useSchemas`). @defaultValue none: the schema routes answer NOT_FOUND
   */
  schemas?: SchemaRegistry;
  /** The dead letters behind `/v1/dlq`. @defaultValue none: the DLQ routes answer NOT_FOUND */
  deadLetters?: DeadLetterStore;
  /** How `POST /v1/dlq/retry` re-runs dead letters. @defaultValue none: retry is NOT_FOUND */
  redrive?: Redrive;
  /** Handlers `/v1/replays` may re-run. @defaultValue none: the replay routes answer NOT_FOUND */
  replays?: ReplaySetup;
  /** Projections behind `/v1/projections`. @defaultValue none: those routes answer NOT_FOUND */
  projections?: ProjectionSetup;
  /**
   * The broker the store's log is relayed to: `/readyz` checks its connection and `/metrics`
   * reports it. @defaultValue none: the store's log is the transport
   */
  transport?: TransportHealth;
  /**
   * API keys: every `/v1` request then needs `Authorization: Bearer <key>`, acts as the key's
   * tenant and is held to its scopes. @defaultValue none: open mode, every request allowed
   */
  keys?: ApiKeyStore;
  /**
   * Outgoing webhook subscriptions behind `/v1/webhooks` (admin scope, per tenant).
   * @defaultValue none: the routes answer NOT_FOUND
   */
  webhooks?: WebhookService;
  /**
   * Incoming webhook sources behind `POST /v1/hooks/:source`, verified by signature.
   * @defaultValue none: the route answers NOT_FOUND
   */
  hooks?: IncomingWebhooks;
  /** @defaultValue {@link DEFAULT_SERVER_LIMITS} */
  limits?: Partial<ServerLimits>;
  /** Structured JSON logs. @defaultValue a silent logger */
  logger?: Logger;
  /** Where `/metrics` reads from; the server registers its own metrics in it. @defaultValue a new registry */
  registry?: Registry<RegistryContentType>;
  /** @defaultValue the global OpenTelemetry tracer `eventfabric-server` */
  tracer?: Tracer;
}

/**
 * Check the limits and fill in the defaults.
 * @throws InvalidArgumentError naming the bad limit
 */
export function resolveServerLimits(limits: Partial<ServerLimits> | undefined): ServerLimits {
  if (limits === undefined) return { ...DEFAULT_SERVER_LIMITS };
  if (typeof limits !== 'object' || limits === null) {
    throw new InvalidArgumentError('limits must be an object');
  }
  const resolved: ServerLimits = { ...DEFAULT_SERVER_LIMITS };
  for (const [name, value] of Object.entries(limits)) {
    if (!(name in DEFAULT_SERVER_LIMITS)) {
      throw new InvalidArgumentError(`unknown server limit "${name}"`, { limit: name });
    }
    if (value === undefined) continue;
    const min = name === 'rateLimitMax' ? 0 : 1;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
      throw new InvalidArgumentError(`limit ${name} must be an integer ≥ ${min}`, {
        [name]: value as unknown,
      });
    }
    resolved[name as keyof ServerLimits] = value;
  }
  return resolved;
}
