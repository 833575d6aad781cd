import { isPool, type Pool } from './driver.js';
import {
  DEFAULT_STORE_LIMITS,
  InvalidArgumentError,
  InvalidConfigError,
  resolveLimits,
  type EventStoreCommonOptions,
  type StoreLimits,
} from '@eventfabric/core';
import { assertSchemaName } from './schema-name.js';

/** Options for {@link createPostgresEventStore}: give `connectionString` or `pool`, not both. */
export interface PostgresEventStoreOptions extends EventStoreCommonOptions {
  /** e.g. `postgres://user@host:5432/db`. The store creates and owns its pool. */
  connectionString?: string;
  /** A pool the caller owns: `close()` leaves it open. */
  pool?: Pool;
  /** The PostgreSQL schema holding the store's tables. @defaultValue `'eventfabric'` */
  schema?: string;
  /** Create the schema and apply pending migrations on start. @defaultValue true */
  migrate?: boolean;
  /** Connections in the store's own pool (ignored with `pool`). @defaultValue 10 */
  poolSize?: number;
  /** How long to wait for a connection, in ms. @defaultValue 10000 */
  connectTimeoutMs?: number;
  /**
   * Backstop wake-up for subscriptions, for horizon moves that send no NOTIFY.
   * @defaultValue 1000
   */
  safetyTickMs?: number;
}

/** Options after validation, with every default applied. */
export interface ResolvedPostgresOptions {
  connectionString: string | undefined;
  pool: Pool | undefined;
  schema: string;
  migrate: boolean;
  poolSize: number;
  connectTimeoutMs: number;
  safetyTickMs: number;
  snapshotEvery: number;
  limits: StoreLimits;
  common: Pick<EventStoreCommonOptions, 'schemas' | 'allowForeignTypes'>;
}

/**
 * Validate every option before any I/O, so bad options create nothing.
 * @throws InvalidConfigError for a missing, doubled or malformed connection
 * @throws InvalidArgumentError for any other malformed option
 */
export function resolvePostgresOptions(options: unknown): ResolvedPostgresOptions {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidConfigError('createPostgresEventStore needs an options object');
  }
  const o = options as PostgresEventStoreOptions;
  if ((o.connectionString === undefined) === (o.pool === undefined)) {
    throw new InvalidConfigError('give exactly one of connectionString and pool', {
      connectionString: o.connectionString !== undefined,
      pool: o.pool !== undefined,
    });
  }
  if (o.connectionString !== undefined) {
    if (
      typeof o.connectionString !== 'string' ||
      !/^postgres(ql)?:\/\/[^\s]*$/.test(o.connectionString)
    ) {
      throw new InvalidConfigError('connectionString must be a postgres:// or postgresql:// URL', {
        connectionString: typeof o.connectionString === 'string' ? redact(o.connectionString) : '',
      });
    }
  }
  if (o.pool !== undefined && !isPool(o.pool)) {
    throw new InvalidConfigError('pool must be a pg Pool');
  }
  const schema = o.schema ?? 'eventfabric';
  assertSchemaName(schema);
  if (o.migrate !== undefined && typeof o.migrate !== 'boolean') {
    throw new InvalidArgumentError('migrate must be a boolean', { migrate: o.migrate as never });
  }
  if (o.allowForeignTypes !== undefined && typeof o.allowForeignTypes !== 'boolean') {
    throw new InvalidArgumentError('allowForeignTypes must be a boolean');
  }
  return {
    connectionString: o.connectionString,
    pool: o.pool,
    schema,
    migrate: o.migrate ?? true,
    poolSize: positiveInteger(o.poolSize, 10, 'poolSize'),
    connectTimeoutMs: positiveInteger(o.connectTimeoutMs, 10_000, 'connectTimeoutMs'),
    safetyTickMs: positiveInteger(o.safetyTickMs, 1000, 'safetyTickMs'),
    snapshotEvery: positiveInteger(o.snapshotEvery, 100, 'snapshotEvery'),
    limits: resolveLimits(o.limits, DEFAULT_STORE_LIMITS),
    common: { schemas: o.schemas, allowForeignTypes: o.allowForeignTypes },
  };
}

/** The URL without its password, for error details. */
export function redact(connectionString: string): string {
  return connectionString.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@');
}

function positiveInteger(value: unknown, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new InvalidArgumentError(`${name} must be a positive integer`, {
      [name]: value as never,
    });
  }
  return value;
}
