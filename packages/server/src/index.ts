export {
  createServer,
  DEFAULT_HOST,
  DEFAULT_PORT,
  type EventFabricServer,
  type ListenOptions,
  type ServerRoute,
} from './create-server.js';
export {
  DEFAULT_SERVER_LIMITS,
  resolveServerLimits,
  type ProjectionSetup,
  type Redrive,
  type ReplaySetup,
  type ServerEventStore,
  type ServerLimits,
  type ServerOptions,
} from './server-options.js';
export { HTTP_STATUS_BY_CODE, INTERNAL_ERROR_CODE, httpStatusOf } from './http/status.js';
export type { ErrorBody } from './http/error-handler.js';
export {
  BATCH_CONTENT_TYPE,
  JSON_CONTENT_TYPE,
  STRUCTURED_CONTENT_TYPE,
} from './http/body-parsers.js';
export { ServerMetrics, type SseDropReason } from './server-metrics.js';
export type { PublishResponse } from './routes/publish.js';
export type { QueryResponse } from './routes/query.js';
export { createLogger, type CreateLoggerOptions, type ServerLogger } from './logger.js';
export {
  assertTenant,
  hashSecret,
  matchSecret,
  newApiKey,
  parseScope,
  type ApiKeyRecord,
  type ApiKeyStore,
  type CreatedApiKey,
  type Scope,
} from './auth/api-keys.js';
export { FileApiKeyStore } from './auth/file-api-key-store.js';
export { OPEN_PRINCIPAL, principalOf, type Principal } from './auth/principal.js';
export {
  registerTransportMetrics,
  type TransportConnectionStatus,
  type TransportHealth,
} from './transport-health.js';
export type { ReplayRequest, ReplayRun, ReplayRunStatus } from './operations/replay-runs.js';
export type { ProjectionRebuild } from './routes/projections.js';
