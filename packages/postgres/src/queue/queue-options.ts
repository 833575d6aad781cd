import { InvalidArgumentError, InvalidConfigError } from '@eventfabric/core';
import { isPool, type Pool } from '../driver.js';
import { redact } from '../postgres-options.js';
import { assertSchemaName } from '../schema-name.js';

/** Options for {@link createPostgresQueueTransport}: give `connectionString` or `pool`, not both. */
export interface PostgresQueueTransportOptions {
  /** e.g. `postgres://user@host:5432/db`. The transport creates and owns its pool. */
  connectionString?: string;
  /** A pool the caller owns: `close()` leaves it open. */
  pool?: Pool;
  /** The PostgreSQL schema holding the queue tables. @defaultValue `'eventfabric'` */
  schema?: string;
  /** Create the schema and apply pending migrations on start. @defaultValue true */
  migrate?: boolean;
  /** Connections in the transport's own pool (ignored with `pool`). @defaultValue 10 */
  poolSize?: number;
  /**
   * Backstop wake-up of idle members, for work that sent no NOTIFY (an expired lease, a
   * notification lost while the LISTEN connection was down). @defaultValue 1000
   */
  pollMs?: number;
  /**
   * How long a claimed delivery stays leased to its member. A live member renews its
   * leases every third of this; a dead member's deliveries go back to the group when it
   * ends. @defaultValue 30 000
   */
  leaseMs?: number;
  /** Another name for `leaseMs`, as SQS calls it. Give one or the other. */
  visibilityTimeoutMs?: number;
  /**
   * How long closing a subscription waits for its handlers in flight before it hands their
   * deliveries back to the group. @defaultValue 30 000
   */
  drainTimeoutMs?: number;
}

/** Options after validation, with every default applied. */
export interface ResolvedQueueOptions {
  connectionString: string | undefined;
  pool: Pool | undefined;
  schema: string;
  migrate: boolean;
  poolSize: number;
  pollMs: number;
  leaseMs: number;
  drainTimeoutMs: number;
}

/**
 * Validate every option before any I/O, so bad options create nothing.
 * @throws InvalidConfigError for a missing, doubled or malformed connection
 * @throws InvalidArgumentError for any other malformed option
 */
export function resolveQueueOptions(options: unknown): ResolvedQueueOptions {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidConfigError('createPostgresQueueTransport needs an options object');
  }
  const o = options as PostgresQueueTransportOptions;
  if ((o.connectionString === undefined) === (o.pool === undefined)) {
    throw new InvalidConfigError('give exactly one of connectionString and pool', {
      connectionString: o.connectionString !== undefined,
      pool: o.pool !== undefined,
    });
  }
  if (
    o.connectionString !== undefined &&
    (typeof o.connectionString !== 'string' ||
      !/^postgres(ql)?:\/\/[^\s]*$/.test(o.connectionString))
  ) {
    throw new InvalidConfigError('connectionString must be a postgres:// or postgresql:// URL', {
      connectionString: typeof o.connectionString === 'string' ? redact(o.connectionString) : '',
    });
  }
  if (o.pool !== undefined && !isPool(o.pool))
    throw new InvalidConfigError('pool must be a pg Pool');
  const schema = o.schema ?? 'eventfabric';
  assertSchemaName(schema);
  if (o.migrate !== undefined && typeof o.migrate !== 'boolean') {
    throw new InvalidArgumentError('migrate must be a boolean', { migrate: o.migrate });
  }
  if (
    o.leaseMs !== undefined &&
    o.visibilityTimeoutMs !== undefined &&
    o.leaseMs !== o.visibilityTimeoutMs
  ) {
    throw new InvalidArgumentError('give leaseMs or visibilityTimeoutMs, not both', {
      leaseMs: o.leaseMs,
      visibilityTimeoutMs: o.visibilityTimeoutMs,
    });
  }
  return {
    connectionString: o.connectionString,
    pool: o.pool,
    schema,
    migrate: o.migrate ?? true,
    poolSize: positiveInteger(o.poolSize, 10, 'poolSize'),
    pollMs: positiveInteger(o.pollMs, 1000, 'pollMs'),
    leaseMs: positiveInteger(o.leaseMs ?? o.visibilityTimeoutMs, 30_000, 'leaseMs'),
    drainTimeoutMs: positiveInteger(o.drainTimeoutMs, 30_000, 'drainTimeoutMs'),
  };
}

function positiveInteger(value: unknown, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new InvalidArgumentError(`${name} must be a positive integer`, { [name]: value });
  }
  return value;
}
