import pg from 'pg';

// node-postgres in one place: the types and constructors the store uses.
export type Client = pg.Client;
export type ClientConfig = pg.ClientConfig;
export type Pool = pg.Pool;
export type PoolConfig = pg.PoolConfig;

export const Client = pg.Client;
export const DatabaseError = pg.DatabaseError;

/**
 * A pool of node-postgres clients. It listens for 'error': an idle client's connection
 * dying (a server restart) must not crash the process; the next query reconnects.
 */
export function createPool(config: PoolConfig): Pool {
  const pool = new pg.Pool(config);
  pool.on('error', () => undefined);
  return pool;
}

/**
 * True for a lost or refused connection (the server is down, restarting or shutting down):
 * the operation may succeed when retried.
 */
export function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') {
    if (code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'EPIPE') return true;
    if (code === '57P01' || code === '57P03' || code.startsWith('08')) return true;
  }
  const message = error instanceof Error ? error.message : '';
  // node-postgres gives these no code.
  return /^Connection terminated|not queryable|timeout exceeded when trying to connect/.test(
    message,
  );
}

/** True for any node-postgres pool. */
export function isPool(value: unknown): value is Pool {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Pool).connect === 'function' &&
    typeof (value as Pool).query === 'function' &&
    typeof (value as Pool).end === 'function'
  );
}
