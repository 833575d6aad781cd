import pg from 'pg';

// node-postgres in one place: the types and constructors the store uses.
export type Client = pg.Client;
export type ClientConfig = pg.ClientConfig;
export type Pool = pg.Pool;
export type PoolConfig = pg.PoolConfig;

export const Client = pg.Client;
export const DatabaseError = pg.DatabaseError;

/** A pool of node-postgres clients. */
export function createPool(config: PoolConfig): Pool {
  return new pg.Pool(config);
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
