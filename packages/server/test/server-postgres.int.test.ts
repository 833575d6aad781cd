import { afterAll, afterEach, beforeEach, expect, it } from 'vitest';
import { createSchemaRegistry } from '@eventfabric/core';
import {
  PostgresDeadLetterStore,
  createPostgresEventStore,
  type PostgresEventStore,
} from '@eventfabric/postgres';
import {
  TEST_PG_URL,
  describeWithPostgres,
  dropSchemas,
  testSchemaName,
} from '../../postgres/test/pg-available.js';
import { createServer, type EventFabricServer } from '../src/index.js';
import { ORDER_PLACED, ORDER_SCHEMA, orderEvent } from './server-harness.js';
import { SseClient } from './sse-client.js';

const schemas = new Set<string>();
afterAll(() => dropSchemas(schemas));

describeWithPostgres('the server on a PostgreSQL store', () => {
  let store: PostgresEventStore;
  let server: EventFabricServer;
  let base: string;

  beforeEach(async () => {
    const schema = testSchemaName('ef_server');
    schemas.add(schema);
    store = await createPostgresEventStore({ connectionString: TEST_PG_URL, schema });
    const registry = await createSchemaRegistry({ storage: store });
    await registry.register(ORDER_PLACED, ORDER_SCHEMA);
    store.useSchemas(registry);
    server = await createServer({
      store,
      schemas: registry,
      deadLetters: new PostgresDeadLetterStore(store),
    });
    base = await server.listen({ port: 0, host: '127.0.0.1' });
  });
  afterEach(async () => {
    await server.close();
    await store.close();
  });

  async function publish(events: unknown[]) {
    return fetch(`${base}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents-batch+json' },
      body: JSON.stringify(events),
    });
  }

  it('given a batch across streams, then it commits as one, in order, and SSE delivers it with positions as ids', async () => {
    const client = new SseClient(`${base}/v1/subscribe?after=0&type=shop.*`);
    await client.connected();

    const response = await publish([
      orderEvent({ id: 'pg-1', subject: 'order-1' }),
      orderEvent({ id: 'pg-2', subject: 'order-2' }),
    ]);
    const { positions } = (await response.json()) as { positions: string[] };
    await client.until(() => client.ids().length === 2);
    client.close();

    expect(response.status).toBe(201);
    expect(client.ids()).toEqual(positions);
    expect((await store.readAll()).map((e) => [e.id, e.subject])).toEqual([
      ['pg-1', 'order-1'],
      ['pg-2', 'order-2'],
    ]);
  });

  it('given a batch whose last event fails its schema, then 422 and nothing is stored', async () => {
    const response = await publish([
      orderEvent({ id: 'ok', subject: 'order-1' }),
      orderEvent({ id: 'bad', subject: 'order-2', data: { amount: -5 } }),
    ]);

    expect(response.status).toBe(422);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe(
      'VALIDATION_FAILED',
    );
    expect(await store.headPosition()).toBe('0');
  });

  it('given If-Match with a stale version, then 412 and the stream is unchanged', async () => {
    await store.appendToStream('order-1', [orderEvent({ subject: 'order-1' })]);

    const response = await fetch(`${base}/v1/streams/order-1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'if-match': '"5"' },
      body: JSON.stringify(orderEvent({ subject: 'order-1' })),
    });

    expect(response.status).toBe(412);
    expect(await store.streamVersion('order-1')).toBe(0);
  });

  it('answers ready while PostgreSQL answers', async () => {
    const response = await fetch(`${base}/readyz`);

    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ready', store: { status: 'ok', head: '0' } });
  });
});
