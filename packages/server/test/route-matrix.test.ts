import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createConsumer,
  createInMemoryTransport,
  createSchemaRegistry,
  defineProjection,
  type CompiledProjection,
  type DeadLetter,
  type DeadLetterStore,
  type ProjectionStorage,
  type SchemaRegistry,
  type StoredEvent,
} from '@eventfabric/core';
import {
  SqliteProcessedEvents,
  SqliteProjectionStorage,
  createSqliteDeadLetterStore,
  createSqliteEventStore,
  type SqliteEventStore,
} from '@eventfabric/sqlite';
import { FileApiKeyStore, createServer, type EventFabricServer } from '../src/index.js';
import { ORDER_PLACED, ORDER_SCHEMA, allEvents, orderEvent } from './server-harness.js';
import { SseClient } from './sse-client.js';

/**
 * Every route the server registers, each with a bad request and with a reach into another
 * tenant's data. The routes come from the server itself (`server.routes`), so a route added
 * without a row here fails the completeness checks.
 */

const BODY_LIMIT = 8192;

const totals = defineProjection<Database.Database>({
  name: 'totals',
  version: 1,
  tables: ['totals'],
  setup({ tx, table }) {
    tx.exec(`CREATE TABLE ${table('totals')} (stream TEXT PRIMARY KEY, n INTEGER NOT NULL)`);
  },
  handlers: {
    'shop.*': (event, { tx, table }) => {
      tx.prepare(
        `INSERT INTO ${table('totals')} (stream, n) VALUES (?, 1)
         ON CONFLICT (stream) DO UPDATE SET n = n + 1`,
      ).run(event.subject);
    },
  },
});

let dir: string;
let store: SqliteEventStore;
let registry: SchemaRegistry;
let deadLetters: DeadLetterStore;
let processed: SqliteProcessedEvents;
let storage: SqliteProjectionStorage;
let server: EventFabricServer;
let base: string;
const audited: string[] = [];
const mailed: string[] = [];
const secret = { acme: '', globex: '' };
let acmeLetter: DeadLetter;
let globexLetter: DeadLetter;

function letterFor(event: StoredEvent): Omit<DeadLetter, 'id' | 'deadLetteredAt'> {
  return {
    handler: 'mailer',
    group: 'app.mailer',
    origin: 'app.mailer',
    reason: 'exhausted',
    event,
    error: { code: 'HANDLER_FAILED', message: 'boom' },
    attempts: 5,
    firstFailedAt: '2026-01-01T00:00:00.000Z',
    lastFailedAt: '2026-01-01T00:01:00.000Z',
  };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'eventfabric-matrix-'));
  store = createSqliteEventStore({ path: join(dir, 'store.db') });
  registry = await createSchemaRegistry({ storage: store });
  await registry.register(ORDER_PLACED, ORDER_SCHEMA);
  store.useSchemas(registry);
  deadLetters = createSqliteDeadLetterStore(store);
  processed = new SqliteProcessedEvents(store);
  storage = new SqliteProjectionStorage(store);
  const keys = new FileApiKeyStore(join(dir, 'api-keys.json'));
  secret.acme = (
    await keys.create({ tenant: 'acme', scopes: ['admin', 'publish:*', 'read:*'] })
  ).secret;
  secret.globex = (
    await keys.create({ tenant: 'globex', scopes: ['admin', 'publish:*', 'read:*'] })
  ).secret;
  server = await createServer({
    store,
    schemas: registry,
    deadLetters,
    keys,
    limits: { bodyLimitBytes: BODY_LIMIT },
    redrive: (filter) =>
      createConsumer({
        service: 'app',
        transport: createInMemoryTransport(),
        deadLetters,
        handlers: [{ name: 'mailer', on: ['*'], handle: (event) => void mailed.push(event.id) }],
      }).redrive(filter),
    replays: {
      handlers: [{ name: 'audit', on: ['shop.*'], handle: (event) => void audited.push(event.id) }],
      processed,
      service: 'app',
    },
    projections: {
      projections: [totals as unknown as CompiledProjection],
      storage: storage as ProjectionStorage,
    },
  });
  base = await server.listen({ port: 0, host: '127.0.0.1' });
  const stored = await store.readAll({ limit: 10 });
  expect(stored).toEqual([]);
  await store.appendMany([
    orderEvent({ id: 'a-1', subject: 'order-a', tenantid: 'acme' }),
    orderEvent({ id: 'g-1', subject: 'order-g', tenantid: 'globex' }),
  ]);
  const [a1, g1] = await store.readAll({ limit: 10 });
  acmeLetter = await deadLetters.add(letterFor(a1!));
  globexLetter = await deadLetters.add(letterFor(g1!));
});

afterAll(async () => {
  await server.close();
  processed.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Everything a request could change. */
async function snapshot() {
  return {
    events: await allEvents(store),
    deadLetters: (await deadLetters.list({ limit: 1000 })).map((d) => d.id),
    schemas: registry.list().map((s) => `${s.type}`),
    audited: [...audited],
    mailed: [...mailed],
    processed: [await processed.has('audit', 'a-1'), await processed.has('audit', 'g-1')],
    projection: await storage.state('totals'),
  };
}

interface Call {
  method: string;
  url: string;
  /** A JSON body, or raw text with `contentType`. */
  body?: unknown;
  raw?: string;
  contentType?: string;
  headers?: Record<string, string>;
}

function call(request: Call, as: keyof typeof secret = 'acme') {
  const payload =
    request.raw ?? (request.body === undefined ? undefined : JSON.stringify(request.body));
  return server.app.inject({
    method: request.method as 'GET',
    url: request.url,
    headers: {
      authorization: `Bearer ${secret[as]}`,
      ...(payload === undefined
        ? {}
        : { 'content-type': request.contentType ?? 'application/json' }),
      ...request.headers,
    },
    payload,
  });
}

const key = (method: string, url: string) => `${method} ${url}`;

/** One bad request per route: its status and code. Probes take no input. */
const BAD_INPUT: Record<string, [Call, number, string]> = {
  'GET /healthz': [{ method: 'GET', url: '/healthz?verbose=1' }, 200, ''],
  'GET /readyz': [{ method: 'GET', url: '/readyz?verbose=1' }, 200, ''],
  'GET /metrics': [{ method: 'GET', url: '/metrics?name=x' }, 200, ''],
  'POST /v1/events': [
    { method: 'POST', url: '/v1/events', body: orderEvent({ data: { amount: -1 } }) },
    422,
    'VALIDATION_FAILED',
  ],
  'GET /v1/events': [{ method: 'GET', url: '/v1/events?after=minus-one' }, 400, 'INVALID_ARGUMENT'],
  'POST /v1/streams/:id': [
    {
      method: 'POST',
      url: '/v1/streams/order-a',
      body: orderEvent({ subject: 'order-a' }),
      headers: { 'if-match': '"not-a-version"' },
    },
    400,
    'INVALID_ARGUMENT',
  ],
  'GET /v1/streams/:id': [
    { method: 'GET', url: '/v1/streams/order-a?limit=0' },
    400,
    'INVALID_ARGUMENT',
  ],
  'GET /v1/subscribe': [
    { method: 'GET', url: '/v1/subscribe', headers: { 'last-event-id': 'yesterday' } },
    400,
    'INVALID_ARGUMENT',
  ],
  'GET /v1/schemas': [{ method: 'GET', url: '/v1/schemas?type=x' }, 400, 'INVALID_ARGUMENT'],
  'GET /v1/schemas/:type': [
    { method: 'GET', url: '/v1/schemas/shop.order.shipped.v1' },
    404,
    'NOT_FOUND',
  ],
  'POST /v1/schemas/:type': [
    { method: 'POST', url: '/v1/schemas/shop.order.placed.v2', body: { type: 'no-such-type' } },
    422,
    'INVALID_SCHEMA',
  ],
  'POST /v1/schemas/:type/check': [
    { method: 'POST', url: '/v1/schemas/shop.order.placed.v2/check', body: [] },
    400,
    'MALFORMED_BODY',
  ],
  'GET /v1/dlq': [{ method: 'GET', url: '/v1/dlq?reason=bored' }, 400, 'INVALID_ARGUMENT'],
  'GET /v1/dlq/:id': [{ method: 'GET', url: '/v1/dlq/no-such-id' }, 404, 'DEAD_LETTER_NOT_FOUND'],
  'DELETE /v1/dlq/:id': [
    { method: 'DELETE', url: '/v1/dlq/no-such-id' },
    404,
    'DEAD_LETTER_NOT_FOUND',
  ],
  'POST /v1/dlq/purge': [
    { method: 'POST', url: '/v1/dlq/purge', body: { all: 'yes' } },
    400,
    'INVALID_ARGUMENT',
  ],
  'POST /v1/dlq/retry': [
    { method: 'POST', url: '/v1/dlq/retry', body: {} },
    400,
    'INVALID_ARGUMENT',
  ],
  'POST /v1/replays': [
    { method: 'POST', url: '/v1/replays', body: { handler: 'audit', to: 'soon' } },
    400,
    'INVALID_ARGUMENT',
  ],
  'GET /v1/replays': [{ method: 'GET', url: '/v1/replays?status=x' }, 400, 'INVALID_ARGUMENT'],
  'GET /v1/replays/:id': [{ method: 'GET', url: '/v1/replays/no-such-run' }, 404, 'NOT_FOUND'],
  'GET /v1/projections': [
    { method: 'GET', url: '/v1/projections?live=true' },
    400,
    'INVALID_ARGUMENT',
  ],
  'GET /v1/projections/:name': [
    { method: 'GET', url: '/v1/projections/balances' },
    404,
    'NOT_FOUND',
  ],
  'POST /v1/projections/:name/rebuild': [
    { method: 'POST', url: '/v1/projections/totals/rebuild', body: { version: 2 } },
    400,
    'INVALID_ARGUMENT',
  ],
};

/** A URL of each route with its parameters filled in. */
function concrete(url: string): string {
  return url
    .replace(':id', 'order-a')
    .replace(':type', 'shop.order.placed.v2')
    .replace(':name', 'totals');
}

describe('every route', () => {
  it("is in docs/server.md's route table", () => {
    const doc = readFileSync(new URL('../../../docs/server.md', import.meta.url), 'utf8');
    const documented = new Set(
      [...doc.matchAll(/^\| `([A-Z]+ \/[^`]*)`/gm)].map((match) => match[1]),
    );

    expect(
      server.routes.map((r) => key(r.method, r.url)).filter((r) => !documented.has(r)),
    ).toEqual([]);
  });

  it('has a bad-input case here (the list comes from the server)', () => {
    expect(server.routes.map((r) => key(r.method, r.url)).sort()).toEqual(
      Object.keys(BAD_INPUT).sort(),
    );
  });

  for (const [route, [request, status, code]] of Object.entries(BAD_INPUT)) {
    it(`${route}: ${status === 200 ? 'takes no input and answers as usual' : `refuses bad input with ${status} ${code}`}, changing nothing`, async () => {
      const before = await snapshot();

      const response = await call(request);
      await new Promise((resolve) => setTimeout(resolve, 30));

      expect(response.statusCode).toBe(status);
      if (status !== 200) {
        expect(response.json()).toMatchObject({ error: { code, details: expect.any(Object) } });
      }
      expect(await snapshot()).toEqual(before);
    });
  }

  const posts = Object.keys(BAD_INPUT).filter((route) => route.startsWith('POST '));
  for (const route of posts) {
    const url = concrete(route.slice('POST '.length));
    it(`${route}: refuses malformed JSON with 400 MALFORMED_BODY, changing nothing`, async () => {
      const before = await snapshot();

      const response = await call({ method: 'POST', url, raw: '{"id": "x",' });

      expect([response.statusCode, response.json().error.code]).toEqual([400, 'MALFORMED_BODY']);
      expect(await snapshot()).toEqual(before);
    });

    it(`${route}: refuses a body over the limit with 413 PAYLOAD_TOO_LARGE, changing nothing`, async () => {
      const before = await snapshot();

      const response = await call({
        method: 'POST',
        url,
        body: { padding: 'x'.repeat(BODY_LIMIT) },
      });

      expect([response.statusCode, response.json().error.code]).toEqual([413, 'PAYLOAD_TOO_LARGE']);
      expect(await snapshot()).toEqual(before);
    });
  }
});

/**
 * One reach into the other tenant's data per route, as acme (which holds every scope), and
 * what must come back. Schemas and projections are shared by design (docs/server.md).
 */
const CROSS_TENANT: Record<string, () => Promise<void>> = {
  'GET /healthz': async () => {
    const response = await call({ method: 'GET', url: '/healthz' });
    expect(response.json()).toEqual({ status: 'ok' });
  },
  'GET /readyz': async () => {
    const response = await call({ method: 'GET', url: '/readyz' });
    // The head position is global (a known limit, like /metrics); no event is shown.
    expect(Object.keys(response.json<object>()).sort()).toEqual(['status', 'store']);
  },
  'GET /metrics': async () => {
    const response = await call({ method: 'GET', url: '/metrics' });
    expect(response.body).not.toContain('g-1');
    expect(response.body).not.toContain('order-g');
  },
  'POST /v1/events': async () => {
    const intoOther = await call({
      method: 'POST',
      url: '/v1/events',
      body: orderEvent({ subject: 'order-g' }),
    });
    const asOther = await call({
      method: 'POST',
      url: '/v1/events',
      body: orderEvent({ subject: 'order-new', tenantid: 'globex' }),
    });
    expect([intoOther.statusCode, intoOther.json().error.code]).toEqual([403, 'FORBIDDEN']);
    expect([asOther.statusCode, asOther.json().error.code]).toEqual([403, 'FORBIDDEN']);
  },
  'GET /v1/events': async () => {
    const response = await call({ method: 'GET', url: '/v1/events?after=0' });
    expect(response.json<{ events: { id: string }[] }>().events.map((e) => e.id)).toEqual(['a-1']);
  },
  'POST /v1/streams/:id': async () => {
    const response = await call({
      method: 'POST',
      url: '/v1/streams/order-g',
      body: orderEvent({ subject: 'order-g' }),
    });
    expect([response.statusCode, response.json().error.code]).toEqual([403, 'FORBIDDEN']);
  },
  'GET /v1/streams/:id': async () => {
    const response = await call({ method: 'GET', url: '/v1/streams/order-g' });
    expect([response.statusCode, response.json().error.code]).toEqual([404, 'NOT_FOUND']);
  },
  'GET /v1/subscribe': async () => {
    const client = new SseClient(`${base}/v1/subscribe?after=0`, {
      authorization: `Bearer ${secret.acme}`,
    });
    try {
      await client.connected();
      await client.until(() => client.comments.some((c) => c.startsWith('subscribed')));
      await client.until(() => client.ids().length >= 1);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(client.messages.map((m) => (JSON.parse(m.data) as { id: string }).id)).toEqual([
        'a-1',
      ]);
    } finally {
      client.close();
    }
  },
  'GET /v1/schemas': async () => {
    const mine = await call({ method: 'GET', url: '/v1/schemas' });
    const theirs = await call({ method: 'GET', url: '/v1/schemas' }, 'globex');
    expect(mine.json()).toEqual(theirs.json());
  },
  'GET /v1/schemas/:type': async () => {
    const mine = await call({ method: 'GET', url: `/v1/schemas/${ORDER_PLACED}` });
    const theirs = await call({ method: 'GET', url: `/v1/schemas/${ORDER_PLACED}` }, 'globex');
    expect([mine.statusCode, mine.json()]).toEqual([200, theirs.json()]);
  },
  'POST /v1/schemas/:type': async () => {
    // Registering the same schema again is a no-op for either tenant (the registry is shared).
    const response = await call({
      method: 'POST',
      url: `/v1/schemas/${ORDER_PLACED}`,
      body: ORDER_SCHEMA,
    });
    expect(response.statusCode).toBe(200);
  },
  'POST /v1/schemas/:type/check': async () => {
    const response = await call({
      method: 'POST',
      url: `/v1/schemas/${ORDER_PLACED}/check`,
      body: ORDER_SCHEMA,
    });
    expect(response.json()).toMatchObject({ compatible: true });
  },
  'GET /v1/dlq': async () => {
    const response = await call({ method: 'GET', url: '/v1/dlq' });
    expect(response.json<{ deadLetters: { id: string }[] }>().deadLetters.map((d) => d.id)).toEqual(
      [acmeLetter.id],
    );
  },
  'GET /v1/dlq/:id': async () => {
    const response = await call({ method: 'GET', url: `/v1/dlq/${globexLetter.id}` });
    expect([response.statusCode, response.json().error.code]).toEqual([
      404,
      'DEAD_LETTER_NOT_FOUND',
    ]);
  },
  'DELETE /v1/dlq/:id': async () => {
    const response = await call({ method: 'DELETE', url: `/v1/dlq/${globexLetter.id}` });
    expect([response.statusCode, response.json().error.code]).toEqual([
      404,
      'DEAD_LETTER_NOT_FOUND',
    ]);
  },
  'POST /v1/dlq/purge': async () => {
    const named = await call({
      method: 'POST',
      url: '/v1/dlq/purge',
      body: { ids: [globexLetter.id] },
    });
    const filtered = await call({
      method: 'POST',
      url: '/v1/dlq/purge',
      body: { handler: 'nobody' },
    });
    expect([named.statusCode, named.json().error.code]).toEqual([404, 'DEAD_LETTER_NOT_FOUND']);
    expect(filtered.json()).toEqual({ removed: 0 });
  },
  'POST /v1/dlq/retry': async () => {
    const response = await call({
      method: 'POST',
      url: '/v1/dlq/retry',
      body: { ids: [globexLetter.id] },
    });
    expect([response.statusCode, response.json().error.code]).toEqual([
      404,
      'DEAD_LETTER_NOT_FOUND',
    ]);
  },
  'POST /v1/replays': async () => {
    const started = await call({
      method: 'POST',
      url: '/v1/replays',
      body: { handler: 'audit', dryRun: true },
    });
    const id = started.json<{ id: string }>().id;
    let run: { status: string; result: { matched: number } | null } | undefined;
    for (let i = 0; i < 200 && run?.status !== 'finished'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      run = (await call({ method: 'GET', url: `/v1/replays/${id}` })).json();
    }
    // Two events in the log, one of them acme's.
    expect(run).toMatchObject({ status: 'finished', result: { scanned: 2, matched: 1 } });
  },
  'GET /v1/replays': async () => {
    const mine = await call({ method: 'GET', url: '/v1/replays' });
    const theirs = await call({ method: 'GET', url: '/v1/replays' }, 'globex');
    expect(mine.json<{ replays: unknown[] }>().replays.length).toBeGreaterThan(0);
    expect(theirs.json()).toEqual({ replays: [] });
  },
  'GET /v1/replays/:id': async () => {
    const [run] = (await call({ method: 'GET', url: '/v1/replays' })).json<{
      replays: { id: string }[];
    }>().replays;
    const response = await call({ method: 'GET', url: `/v1/replays/${run!.id}` }, 'globex');
    expect([response.statusCode, response.json().error.code]).toEqual([404, 'NOT_FOUND']);
  },
  'GET /v1/projections': async () => {
    const mine = await call({ method: 'GET', url: '/v1/projections' });
    const theirs = await call({ method: 'GET', url: '/v1/projections' }, 'globex');
    expect(mine.json()).toEqual(theirs.json());
  },
  'GET /v1/projections/:name': async () => {
    const response = await call({ method: 'GET', url: '/v1/projections/totals' });
    expect(response.json()).toMatchObject({ name: 'totals', versions: [{ lastError: null }] });
  },
  'POST /v1/projections/:name/rebuild': async () => {
    // A projection is shared: an admin key of any tenant builds it (docs/server.md).
    const response = await call({ method: 'POST', url: '/v1/projections/totals/rebuild' });
    expect(response.statusCode).toBe(202);
  },
};

describe('tenant isolation on every route', () => {
  it('has a case here for every route (the list comes from the server)', () => {
    expect(server.routes.map((r) => key(r.method, r.url)).sort()).toEqual(
      Object.keys(CROSS_TENANT).sort(),
    );
  });

  for (const [route, check] of Object.entries(CROSS_TENANT)) {
    it(`${route}: acme never reaches globex's events, dead letters or runs`, async () => {
      const globexBefore = {
        events: (await allEvents(store)).filter((e) => e.subject === 'order-g'),
        letter: (await deadLetters.get(globexLetter.id)).id,
        handled: await processed.has('audit', 'g-1'),
      };

      await check();

      expect({
        events: (await allEvents(store)).filter((e) => e.subject === 'order-g'),
        letter: (await deadLetters.get(globexLetter.id)).id,
        handled: await processed.has('audit', 'g-1'),
      }).toEqual(globexBefore);
      expect(mailed).toEqual([]);
    });
  }
});
