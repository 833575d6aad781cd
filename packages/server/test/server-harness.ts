import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSchemaRegistry, type DeadLetterStore, type SchemaRegistry } from '@eventfabric/core';
import {
  createSqliteDeadLetterStore,
  createSqliteEventStore,
  type SqliteEventStore,
} from '@eventfabric/sqlite';
import { createServer, type EventFabricServer, type ServerOptions } from '../src/index.js';

/** The type whose schema every test server registers. */
export const ORDER_PLACED = 'shop.order.placed.v1';

export const ORDER_SCHEMA = {
  type: 'object',
  required: ['amount'],
  properties: { amount: { type: 'integer', minimum: 0 } },
  additionalProperties: false,
};

/** A server over a fresh SQLite store in a temp dir, with a strict schema registry. */
export interface TestServer {
  server: EventFabricServer;
  store: SqliteEventStore;
  registry: SchemaRegistry;
  deadLetters: DeadLetterStore;
  dir: string;
  /** Close the server, then the store, then remove the directory. */
  close(): Promise<void>;
}

export async function openTestServer(
  options: Partial<Omit<ServerOptions, 'store' | 'schemas'>> & { schemas?: 'strict' | 'none' } = {},
): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'eventfabric-server-'));
  const store = createSqliteEventStore({ path: join(dir, 'store.db') });
  const registry = await createSchemaRegistry({ storage: store });
  await registry.register(ORDER_PLACED, ORDER_SCHEMA);
  if (options.schemas !== 'none') store.useSchemas(registry);
  const deadLetters = createSqliteDeadLetterStore(store);
  const { schemas: _mode, ...rest } = options;
  const server = await createServer({ store, schemas: registry, deadLetters, ...rest });
  return {
    server,
    store,
    registry,
    deadLetters,
    dir,
    async close() {
      await server.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

let counter = 0;

/** A valid structured-mode order event; fields may be overridden or removed (undefined). */
export function orderEvent(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const event: Record<string, unknown> = {
    specversion: '1.0',
    id: `evt-${++counter}`,
    type: ORDER_PLACED,
    source: '/shop',
    subject: 'order-1',
    data: { amount: 10 },
    ...overrides,
  };
  for (const [key, value] of Object.entries(event)) if (value === undefined) delete event[key];
  return event;
}

/** Everything in `$all`, as (id, subject, position) triples: what "nothing was written" checks. */
export async function allEvents(
  store: SqliteEventStore,
): Promise<{ id: string; subject: string; position: string }[]> {
  const events = await store.readAll({ limit: 10_000 });
  return events.map((e) => ({ id: e.id, subject: e.subject, position: e.position }));
}
