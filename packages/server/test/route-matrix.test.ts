import { createHmac } from 'node:crypto';
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
import {
  IncomingWebhooks,
  WebhookService,
  createSqliteWebhookStore,
  type SqliteWebhookStore,
} from '@eventfabric/webhooks';
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
let webhookStore: SqliteWebhookStore;
/** Subscription ids by tenant. */
const hook = { acme: '', globex: '' };

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
  webhookStore = createSqliteWebhookStore(store);
  const webhooks = new WebhookService({
    store: webhookStore,
    events: store,
    allow: ['127.0.0.1/32'],
  });
  hook.acme = (
    await webhooks.create('acme', { url: 'http://127.0.0.1:9/a', types: ['never.*'] })
  ).id;
  hook.globex = (
    await webhooks.create('globex', { url: 'http://127.0.0.1:9/g', types: ['never.*'] })
  ).id;
  server = await createServer({
    store,
    schemas: registry,
    deadLetters,
    keys,
    webhooks,
    hooks: new IncomingWebhooks({
      store,
      sources: {
        globexpay: {
          scheme: 'standard',
          secrets: [HOOK_SECRET],
          type: 'globexpay.payment.received.v1',
          tenant: 'globex',
        },
      },
    }),
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
    webhooks: await webhookStore.listSubscriptions({}),
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
  const url = request.url.replace(':acme', hook.acme).replace(':globex', hook.globex);
  const payload =
    request.raw ?? (request.body === undefined ? undefined : JSON.stringify(request.body));
  return server.app.inject({
    method: request.method as 'GET',
    url,
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
  'POST /v1/webhooks': [
    { method: 'POST', url: '/v1/webhooks', body: { url: 42 } },
    400,
    'INVALID_ARGUMENT',
  ],
  'GET /v1/webhooks': [
    { method: 'GET', url: '/v1/webhooks?tenant=globex' },
    400,
    'INVALID_ARGUMENT',
  ],
  'GET /v1/webhooks/:id': [{ method: 'GET', url: '/v1/webhooks/no-such-hook' }, 404, 'NOT_FOUND'],
  'PATCH /v1/webhooks/:id': [
    { method: 'PATCH', url: '/v1/webhooks/:acme', body: { types: 'shop.*' } },
    400,
    'INVALID_ARGUMENT',
  ],
  'DELETE /v1/webhooks/:id': [
    { method: 'DELETE', url: '/v1/webhooks/no-such-hook' },
    404,
    'NOT_FOUND',
  ],
  'POST /v1/webhooks/:id/rotate-secret': [
    { method: 'POST', url: '/v1/webhooks/:acme/rotate-secret', body: ['now'] },
    400,
    'MALFORMED_BODY',
  ],
  'GET /v1/webhooks/:id/deliveries': [
    { method: 'GET', url: '/v1/webhooks/:acme/deliveries?status=lost' },
    400,
    'INVALID_ARGUMENT',
  ],
  'GET /v1/webhooks/:id/attempts': [
    { method: 'GET', url: '/v1/webhooks/:acme/attempts?limit=0' },
    400,
    'INVALID_ARGUMENT',
  ],
  'GET /v1/webhooks/:id/deliveries/:deliveryId': [
    { method: 'GET', url: '/v1/webhooks/:acme/deliveries/no-such-delivery' },
    404,
    'NOT_FOUND',
  ],
  'POST /v1/webhooks/:id/deliveries/:deliveryId/resend': [
    { method: 'POST', url: '/v1/webhooks/:acme/deliveries/no-such-delivery/resend' },
    404,
    'NOT_FOUND',
  ],
  'POST /v1/webhooks/:id/recover': [
    { method: 'POST', url: '/v1/webhooks/:acme/recover', body: { since: 'last week' } },
    400,
    'INVALID_ARGUMENT',
  ],
  'POST /v1/hooks/:source': [
    { method: 'POST', url: '/v1/hooks/globexpay', body: { paid: 1 } },
    401,
    'WEBHOOK_SIGNATURE_INVALID',
  ],
};

const HOOK_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

/** Standard Webhooks headers signing `body` with the globexpay source's secret. */
function signed(body: string): Record<string, string> {
  const id = 'msg_matrix';
  const timestamp = String(Math.floor(Date.now() / 1000));
  const key = Buffer.from(HOOK_SECRET.slice('whsec_'.length), 'base64');
  const signature = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64');
  return {
    'webhook-id': id,
    'webhook-timestamp': timestamp,
    'webhook-signature': `v1,${signature}`,
  };
}

/** A URL of each route with its parameters filled in. */
function concrete(url: string): string {
  if (url.startsWith('/v1/webhooks')) {
    return url.replace(':id', hook.acme).replace(':deliveryId', 'no-such-delivery');
  }
  return url
    .replace(':id', 'order-a')
    .replace(':type', 'shop.order.placed.v2')
    .replace(':name', 'totals')
    .replace(':source', 'globexpay');
}

describe('every route', () => {
  it("is in docs/server.md's route table", () => {
    const doc = readFileSync(new URL('../../../docs/server.md', import.meta.url), 'utf8');
    const rows = [...doc.matchAll(/^\| `([^`]*)`/gm)].map((match) => match[1]!);
    // A route is a row of its own, or one of a resource's row (`/v1/webhooks`) naming it.
    const documented = (method: string, url: string) =>
      rows.includes(key(method, url)) ||
      (rows.includes(url.split('/').slice(0, 3).join('/')) &&
        doc.includes(url.split('/').slice(3).join('/')));

    expect(server.routes.filter((r) => !documented(r.method, r.url))).toEqual([]);
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
      const raw = '{"id": "x",';

      const response = await call({
        method: 'POST',
        url,
        raw,
        // An incoming webhook is verified before it is parsed: sign it, as its source would.
        headers: url.startsWith('/v1/hooks/') ? signed(raw) : {},
      });

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
  'POST /v1/webhooks': async () => {
    const asOther = await call({
      method: 'POST',
      url: '/v1/webhooks',
      body: { url: 'http://127.0.0.1:9/x', tenant: 'globex' },
    });
    expect([asOther.statusCode, asOther.json().error.code]).toEqual([400, 'INVALID_ARGUMENT']);
  },
  'GET /v1/webhooks': async () => {
    const response = await call({ method: 'GET', url: '/v1/webhooks' });
    expect(response.json<{ webhooks: { id: string }[] }>().webhooks.map((w) => w.id)).toEqual([
      hook.acme,
    ]);
  },
  'GET /v1/webhooks/:id': () => notFound('GET', '/v1/webhooks/:globex'),
  'PATCH /v1/webhooks/:id': () =>
    notFound('PATCH', '/v1/webhooks/:globex', { description: 'taken over' }),
  'DELETE /v1/webhooks/:id': () => notFound('DELETE', '/v1/webhooks/:globex'),
  'POST /v1/webhooks/:id/rotate-secret': () =>
    notFound('POST', '/v1/webhooks/:globex/rotate-secret', {}),
  'GET /v1/webhooks/:id/deliveries': () => notFound('GET', '/v1/webhooks/:globex/deliveries'),
  'GET /v1/webhooks/:id/attempts': () => notFound('GET', '/v1/webhooks/:globex/attempts'),
  'GET /v1/webhooks/:id/deliveries/:deliveryId': () =>
    notFound('GET', '/v1/webhooks/:globex/deliveries/some-delivery'),
  'POST /v1/webhooks/:id/deliveries/:deliveryId/resend': () =>
    notFound('POST', '/v1/webhooks/:globex/deliveries/some-delivery/resend'),
  'POST /v1/webhooks/:id/recover': () =>
    notFound('POST', '/v1/webhooks/:globex/recover', { since: '2026-01-01T00:00:00Z' }),
  'POST /v1/hooks/:source': async () => {
    // A source is verified by its signature, never by an API key: acme's key gets nowhere.
    const response = await call({ method: 'POST', url: '/v1/hooks/globexpay', body: { paid: 1 } });
    expect([response.statusCode, response.json().error.code]).toEqual([
      401,
      'WEBHOOK_SIGNATURE_INVALID',
    ]);
  },
};

/** Acme reaching a globex resource: 404 NOT_FOUND, as if it did not exist. */
async function notFound(method: string, url: string, body?: unknown): Promise<void> {
  const response = await call({ method, url, body });
  expect([response.statusCode, response.json().error.code]).toEqual([404, 'NOT_FOUND']);
}

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
        webhook: await webhookStore.getSubscription(hook.globex),
      };

      await check();

      expect({
        events: (await allEvents(store)).filter((e) => e.subject === 'order-g'),
        letter: (await deadLetters.get(globexLetter.id)).id,
        handled: await processed.has('audit', 'g-1'),
        webhook: await webhookStore.getSubscription(hook.globex),
      }).toEqual(globexBefore);
      expect(mailed).toEqual([]);
    });
  }
});
