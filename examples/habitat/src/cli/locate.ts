import { resolve } from 'node:path';
import { InvalidArgumentError } from '@eventfabric/core';
import { openEmbeddedBackend, openPostgresBackend, type Backend } from '../platform/backend.js';

/** The embedded default: the same file `eventfabric serve` uses. */
export const DEFAULT_STORE = 'sqlite:.eventfabric/eventfabric.db';
export const DEFAULT_AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672';

/** Where Habitat runs: flags first, then EVENTFABRIC_STORE and EVENTFABRIC_TRANSPORT. */
export interface Location {
  store: string;
  transport: string;
}

export function locate(flags: { store?: string; transport?: string }): Location {
  const store = flags.store ?? process.env.EVENTFABRIC_STORE ?? DEFAULT_STORE;
  const postgres = store.startsWith('postgres://') || store.startsWith('postgresql://');
  const transport =
    flags.transport ??
    process.env.EVENTFABRIC_TRANSPORT ??
    (postgres ? DEFAULT_AMQP_URL : 'embedded');
  if (!postgres && !store.startsWith('sqlite:')) {
    throw new InvalidArgumentError(`store must be sqlite:<path> or postgres://…, not ${store}`);
  }
  if (postgres !== transport.startsWith('amqp')) {
    throw new InvalidArgumentError(
      postgres
        ? `Habitat on PostgreSQL delivers through RabbitMQ: --transport amqp://…, not ${transport}`
        : `Habitat on SQLite uses the embedded transport, not ${transport}`,
    );
  }
  return { store, transport };
}

/** Open the backend a location names (the PostgreSQL schema is `?schema=`, default `habitat`). */
export async function openBackend(
  location: Location,
  options: { unknownTypes?: 'reject' | 'allow' } = {},
): Promise<Backend> {
  if (location.store.startsWith('sqlite:')) {
    // Relative to where the command was typed: npm runs a workspace's scripts in its own
    // folder but records the caller's in INIT_CWD.
    const path = resolve(
      process.env.INIT_CWD ?? process.cwd(),
      location.store.slice('sqlite:'.length),
    );
    return openEmbeddedBackend({ path, ...options });
  }
  const url = new URL(location.store);
  const schema = url.searchParams.get('schema') ?? 'habitat';
  url.searchParams.delete('schema');
  return openPostgresBackend({
    connectionString: url.toString(),
    schema,
    amqpUrl: location.transport,
    ...options,
  });
}

/** A location for printing: no password. */
export function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}
