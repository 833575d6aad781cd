import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import {
  defineProjection,
  type CompiledProjection,
  type EventHandler,
  type ProjectionStorage,
  type StoredEvent,
} from '@eventfabric/core';
import {
  SqliteProcessedEvents,
  SqliteProjectionStorage,
  createSqliteEventStore,
  type SqliteEventStore,
} from '@eventfabric/sqlite';
import { FileApiKeyStore, createServer, type EventFabricServer } from '../src/index.js';
import type { ServerLimits } from '../src/index.js';
import { allEvents, orderEvent } from './server-harness.js';

/** A read model of order totals per stream; it fails on an amount of 13, on purpose. */
const totals = defineProjection<Database.Database>({
  name: 'totals',
  version: 1,
  tables: ['totals'],
  setup({ tx, table }) {
    tx.exec(`CREATE TABLE ${table('totals')} (stream TEXT PRIMARY KEY, amount INTEGER NOT NULL)`);
  },
  handlers: {
    'shop.order.placed.v1': (event, { tx, table }) => {
      const { amount } = event.data as { amount: number };
      if (amount === 13) throw new Error(`unlucky order ${event.subject} of ${amount}`);
      tx.prepare(
        `INSERT INTO ${table('totals')} (stream, amount) VALUES (?, ?)
         ON CONFLICT (stream) DO UPDATE SET amount = amount + excluded.amount`,
      ).run(event.subject, amount);
    },
  },
});

interface OperationsServer {
  server: EventFabricServer;
  store: SqliteEventStore;
  processed: SqliteProcessedEvents;
  storage: SqliteProjectionStorage;
  /** Event ids the `audit` handler saw, in order. */
  audited: string[];
  keys: FileApiKeyStore | undefined;
  close(): Promise<void>;
}

async function openOperationsServer(
  options: {
    keys?: boolean;
    limits?: Partial<ServerLimits>;
    operations?: boolean;
    keepFinished?: number;
  } = {},
): Promise<OperationsServer> {
  const dir = mkdtempSync(join(tmpdir(), 'eventfabric-ops-'));
  const store = createSqliteEventStore({ path: join(dir, 'store.db') });
  const processed = new SqliteProcessedEvents(store);
  const storage = new SqliteProjectionStorage(store);
  const audited: string[] = [];
  const audit: EventHandler = {
    name: 'audit',
    on: ['shop.*'],
    handle: (event: StoredEvent) => void audited.push(event.id),
  };
  const keys = options.keys ? new FileApiKeyStore(join(dir, 'api-keys.json')) : undefined;
  const operations = options.operations ?? true;
  const server = await createServer({
    store,
    keys,
    limits: options.limits,
    replays: operations
      ? { handlers: [audit], processed, service: 'app', keepFinished: options.keepFinished }
      : undefined,
    // The server holds projections of any database; these are SQLite's.
    projections: operations
      ? {
          projections: [totals as unknown as CompiledProjection],
          storage: storage as ProjectionStorage,
        }
      : undefined,
  });
  return {
    server,
    store,
    processed,
    storage,
    audited,
    keys,
    async close() {
      await server.close();
      processed.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

type Method = 'GET' | 'POST';

function send(
  t: OperationsServer,
  method: Method,
  url: string,
  options: { body?: unknown; raw?: string; secret?: string; contentType?: string } = {},
) {
  const payload =
    options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  return t.server.app.inject({
    method,
    url,
    headers: {
      ...(options.secret === undefined ? {} : { authorization: `Bearer ${options.secret}` }),
      ...(payload === undefined
        ? {}
        : { 'content-type': options.contentType ?? 'application/json' }),
    },
    payload,
  });
}

/** Poll a GET until `done` holds (the work runs in the background), up to 10 s. */
async function pollUntil(
  t: OperationsServer,
  url: string,
  done: (body: Record<string, unknown>) => boolean,
  secret?: string,
): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const response = await send(t, 'GET', url, { secret });
    const body = response.json<Record<string, unknown>>();
    if (done(body)) return body;
    if (Date.now() > deadline) throw new Error(`timed out on ${url}: ${response.body}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const finished = (body: Record<string, unknown>) =>
  body.status !== 'queued' && body.status !== 'running';

describe('/v1/replays and /v1/projections', () => {
  let t: OperationsServer;
  afterEach(async () => {
    await t.close();
  });

  describe('POST /v1/replays', () => {
    it('replays a handler over the log in the background, idempotently, and shows its progress and result', async () => {
      t = await openOperationsServer();
      await t.store.appendMany([
        orderEvent({ id: 'r-1', subject: 'order-1' }),
        orderEvent({ id: 'r-2', subject: 'order-2' }),
        orderEvent({ id: 'r-3', type: 'mail.sent.done.v1', subject: 'mail-1' }),
      ]);

      const started = await send(t, 'POST', '/v1/replays', { body: { handler: 'audit' } });
      const id = started.json<{ id: string }>().id;
      const first = await pollUntil(t, `/v1/replays/${id}`, finished);
      const again = await send(t, 'POST', '/v1/replays', { body: { handler: 'audit' } });
      const second = await pollUntil(t, `/v1/replays/${again.json<{ id: string }>().id}`, finished);
      const listed = await send(t, 'GET', '/v1/replays?handler=audit');

      expect(started.statusCode).toBe(202);
      expect(started.headers.location).toBe(`/v1/replays/${id}`);
      expect(started.json()).toMatchObject({
        id,
        handler: 'audit',
        tenant: null,
        status: 'queued',
        request: {
          handler: 'audit',
          from: null,
          to: null,
          types: null,
          stream: null,
          correlationId: null,
          dryRun: false,
        },
      });
      expect(first).toMatchObject({
        status: 'finished',
        error: null,
        progress: {
          scanned: 3,
          matched: 2,
          handled: 2,
          skipped: 0,
          failed: 0,
          position: '3',
          head: '3',
        },
        result: {
          scanned: 3,
          matched: 2,
          handled: 2,
          skipped: 0,
          failed: 0,
          dryRun: false,
          failures: [],
        },
      });
      expect(second).toMatchObject({
        status: 'finished',
        result: { matched: 2, handled: 0, skipped: 2, failed: 0 },
      });
      expect(t.audited).toEqual(['r-1', 'r-2']);
      expect(listed.json<{ replays: { id: string }[] }>().replays.map((r) => r.id)).toEqual([
        id,
        again.json<{ id: string }>().id,
      ]);
    });

    it('given filters and a dry run, then it counts what it would handle and handles nothing', async () => {
      t = await openOperationsServer();
      await t.store.appendMany([
        orderEvent({ id: 'd-1', subject: 'order-1' }),
        orderEvent({ id: 'd-2', subject: 'order-2' }),
        orderEvent({ id: 'd-3', subject: 'order-2' }),
      ]);

      const started = await send(t, 'POST', '/v1/replays', {
        body: {
          handler: 'audit',
          types: ['shop.order.*'],
          stream: 'order-2',
          from: '3',
          dryRun: true,
        },
      });
      const run = await pollUntil(t, `/v1/replays/${started.json<{ id: string }>().id}`, finished);

      expect(run).toMatchObject({
        status: 'finished',
        result: { scanned: 1, matched: 1, handled: 0, dryRun: true },
      });
      expect(t.audited).toEqual([]);
      expect(await t.processed.has('audit', 'd-3')).toBe(false);
    });

    const bad: [string, { body?: unknown; raw?: string }, number, string][] = [
      ['malformed JSON', { raw: '{"handler":' }, 400, 'MALFORMED_BODY'],
      ['an array', { body: [{ handler: 'audit' }] }, 400, 'MALFORMED_BODY'],
      ['no handler', { body: {} }, 400, 'INVALID_ARGUMENT'],
      ['a handler that is not a string', { body: { handler: 5 } }, 400, 'INVALID_ARGUMENT'],
      ['an unknown handler', { body: { handler: 'nope' } }, 400, 'INVALID_ARGUMENT'],
      [
        'an unknown field',
        { body: { handler: 'audit', into: '/tmp/x.db' } },
        400,
        'INVALID_ARGUMENT',
      ],
      [
        'a bound that is no position or time',
        { body: { handler: 'audit', from: 'yesterday' } },
        400,
        'INVALID_ARGUMENT',
      ],
      [
        'from after to',
        { body: { handler: 'audit', from: '5', to: '2' } },
        400,
        'INVALID_ARGUMENT',
      ],
      [
        'types that are not an array',
        { body: { handler: 'audit', types: 'shop.*' } },
        400,
        'INVALID_ARGUMENT',
      ],
      [
        'a malformed type pattern',
        { body: { handler: 'audit', types: ['Shop Orders'] } },
        400,
        'INVALID_ARGUMENT',
      ],
      [
        'a dryRun that is not a boolean',
        { body: { handler: 'audit', dryRun: 'yes' } },
        400,
        'INVALID_ARGUMENT',
      ],
      ['an empty stream', { body: { handler: 'audit', stream: '' } }, 400, 'INVALID_ARGUMENT'],
      [
        'an oversize body',
        { body: { handler: 'audit', stream: 'x'.repeat(5000) } },
        413,
        'PAYLOAD_TOO_LARGE',
      ],
    ];
    for (const [name, request, status, code] of bad) {
      it(`refuses ${name} with ${status} ${code}, and starts nothing`, async () => {
        t = await openOperationsServer({ limits: { bodyLimitBytes: 4096 } });
        await t.store.appendMany([orderEvent({ id: 'b-1' })]);

        const response = await send(t, 'POST', '/v1/replays', request);
        await new Promise((resolve) => setTimeout(resolve, 50));
        const listed = await send(t, 'GET', '/v1/replays');

        expect([response.statusCode, response.json().error.code]).toEqual([status, code]);
        expect(listed.json()).toEqual({ replays: [] });
        expect(t.audited).toEqual([]);
        expect(await t.processed.has('audit', 'b-1')).toBe(false);
      });
    }

    it('refuses an unknown query parameter (400) and reads an unknown replay as 404 NOT_FOUND', async () => {
      t = await openOperationsServer();

      const unknownParam = await send(t, 'GET', '/v1/replays?hander=audit');
      const unknownRun = await send(t, 'GET', '/v1/replays/0198c2d4-7f3a-7c4e-9a51-3f0e2b6d8a11');

      expect([unknownParam.statusCode, unknownParam.json().error.code]).toEqual([
        400,
        'INVALID_ARGUMENT',
      ]);
      expect([unknownRun.statusCode, unknownRun.json().error.code]).toEqual([404, 'NOT_FOUND']);
    });

    it('given a server without handlers or projections, then both resources are 404 NOT_FOUND', async () => {
      t = await openOperationsServer({ operations: false });

      const responses = await Promise.all([
        send(t, 'POST', '/v1/replays', { body: { handler: 'audit' } }),
        send(t, 'GET', '/v1/replays'),
        send(t, 'GET', '/v1/projections'),
        send(t, 'POST', '/v1/projections/totals/rebuild'),
      ]);

      expect(responses.map((r) => [r.statusCode, r.json().error.code])).toEqual([
        [404, 'NOT_FOUND'],
        [404, 'NOT_FOUND'],
        [404, 'NOT_FOUND'],
        [404, 'NOT_FOUND'],
      ]);
    });
  });

  describe('replay options', () => {
    it('keeps the last keepFinished finished runs, and refuses a negative keepFinished at construction', async () => {
      t = await openOperationsServer({ keepFinished: 1 });
      await t.store.appendMany([orderEvent({ id: 'k-1' })]);

      const ids: string[] = [];
      for (let i = 0; i < 2; i++) {
        const started = await send(t, 'POST', '/v1/replays', {
          body: { handler: 'audit', dryRun: true },
        });
        ids.push(started.json<{ id: string }>().id);
        await pollUntil(t, `/v1/replays/${ids[i]}`, finished);
      }
      const listed = await send(t, 'GET', '/v1/replays');
      const evicted = await send(t, 'GET', `/v1/replays/${ids[0]}`);
      const refused = await createServer({
        store: t.store,
        replays: { handlers: [], processed: t.processed, keepFinished: -1 },
      }).then(
        () => undefined,
        (error: { code: string; message: string }) => [error.code, error.message],
      );

      expect(listed.json<{ replays: { id: string }[] }>().replays.map((r) => r.id)).toEqual([
        ids[1],
      ]);
      expect(evicted.statusCode).toBe(404);
      expect(refused).toEqual(['INVALID_ARGUMENT', 'replays.keepFinished must be an integer ≥ 0']);
    });
  });

  describe('/v1/projections', () => {
    it('lists, shows status, rebuilds in the background and swaps in; a rebuild of the live version does nothing', async () => {
      t = await openOperationsServer();
      await t.store.appendMany([
        orderEvent({ id: 'p-1', subject: 'order-1', data: { amount: 5 } }),
        orderEvent({ id: 'p-2', subject: 'order-1', data: { amount: 7 } }),
        orderEvent({ id: 'p-3', subject: 'order-2', data: { amount: 1 } }),
      ]);

      const listedBefore = await send(t, 'GET', '/v1/projections');
      const statusBefore = await send(t, 'GET', '/v1/projections/totals');
      const rebuild = await send(t, 'POST', '/v1/projections/totals/rebuild');
      const live = await pollUntil(
        t,
        '/v1/projections/totals',
        (body) => (body.rebuild as { status: string } | null)?.status === 'live',
      );
      const again = await send(t, 'POST', '/v1/projections/totals/rebuild');

      expect(listedBefore.json()).toEqual({
        projections: [{ name: 'totals', version: 1, live: null, tables: ['totals'] }],
      });
      expect(statusBefore.json()).toEqual({
        name: 'totals',
        version: 1,
        live: null,
        tables: ['totals'],
        versions: [
          {
            name: 'totals',
            version: 1,
            mode: 'not built',
            defined: true,
            position: null,
            lag: 3,
            lastError: null,
          },
        ],
        rebuild: null,
      });
      expect(rebuild.statusCode).toBe(202);
      expect(rebuild.json()).toMatchObject({ name: 'totals', version: 1, status: 'building' });
      expect(live).toMatchObject({
        live: 1,
        versions: [{ version: 1, mode: 'live', position: '3', lag: 0, lastError: null }],
        rebuild: { status: 'live', result: { built: true, position: '3', replaced: null } },
      });
      expect(t.store.db.prepare('SELECT stream, amount FROM totals ORDER BY stream').all()).toEqual(
        [
          { stream: 'order-1', amount: 12 },
          { stream: 'order-2', amount: 1 },
        ],
      );
      expect([again.statusCode, again.json()]).toEqual([
        200,
        { name: 'totals', version: 1, built: false, live: 1 },
      ]);
    });

    const bad: [string, Method, string, { body?: unknown; raw?: string }, number, string][] = [
      ['an unknown projection', 'GET', '/v1/projections/nope', {}, 404, 'NOT_FOUND'],
      [
        'a rebuild of an unknown projection',
        'POST',
        '/v1/projections/nope/rebuild',
        {},
        404,
        'NOT_FOUND',
      ],
      [
        'a rebuild with a body',
        'POST',
        '/v1/projections/totals/rebuild',
        { body: { version: 2 } },
        400,
        'INVALID_ARGUMENT',
      ],
      [
        'a rebuild with an array body',
        'POST',
        '/v1/projections/totals/rebuild',
        { body: [] },
        400,
        'INVALID_ARGUMENT',
      ],
      [
        'a rebuild with malformed JSON',
        'POST',
        '/v1/projections/totals/rebuild',
        { raw: '{' },
        400,
        'MALFORMED_BODY',
      ],
      [
        'a rebuild with an oversize body',
        'POST',
        '/v1/projections/totals/rebuild',
        { raw: `{"x":"${'y'.repeat(5000)}"}` },
        413,
        'PAYLOAD_TOO_LARGE',
      ],
      [
        'an unknown query parameter',
        'GET',
        '/v1/projections?name=totals',
        {},
        400,
        'INVALID_ARGUMENT',
      ],
      [
        'an unknown query parameter on a rebuild',
        'POST',
        '/v1/projections/totals/rebuild?force=true',
        {},
        400,
        'INVALID_ARGUMENT',
      ],
    ];
    for (const [name, method, url, request, status, code] of bad) {
      it(`refuses ${name} with ${status} ${code}, and builds nothing`, async () => {
        t = await openOperationsServer({ limits: { bodyLimitBytes: 4096 } });
        await t.store.appendMany([orderEvent({ id: 'pb-1' })]);

        const response = await send(t, method, url, request);
        await new Promise((resolve) => setTimeout(resolve, 50));

        expect([response.statusCode, response.json().error.code]).toEqual([status, code]);
        expect(await t.storage.state('totals')).toEqual({
          name: 'totals',
          live: undefined,
          versions: [],
        });
      });
    }
  });

  describe('tenants', () => {
    const secrets = { acmeAdmin: '', acmeWriter: '', globexAdmin: '' };

    async function openWithKeys(): Promise<void> {
      t = await openOperationsServer({ keys: true });
      const keys = t.keys!;
      secrets.acmeAdmin = (await keys.create({ tenant: 'acme', scopes: ['admin'] })).secret;
      secrets.acmeWriter = (
        await keys.create({ tenant: 'acme', scopes: ['publish:*', 'read:*'] })
      ).secret;
      secrets.globexAdmin = (await keys.create({ tenant: 'globex', scopes: ['admin'] })).secret;
      await t.store.appendMany([
        orderEvent({ id: 'a-1', subject: 'order-a', tenantid: 'acme', data: { amount: 2 } }),
        orderEvent({ id: 'g-1', subject: 'order-g', tenantid: 'globex', data: { amount: 13 } }),
        orderEvent({ id: 'a-2', subject: 'order-a', tenantid: 'acme', data: { amount: 3 } }),
      ]);
    }

    it('refuses every operations route without a key (401) and without the admin scope (403)', async () => {
      await openWithKeys();
      const routes: [Method, string][] = [
        ['POST', '/v1/replays'],
        ['GET', '/v1/replays'],
        ['GET', '/v1/replays/some-id'],
        ['GET', '/v1/projections'],
        ['GET', '/v1/projections/totals'],
        ['POST', '/v1/projections/totals/rebuild'],
      ];

      const anonymous = await Promise.all(
        routes.map(([m, u]) => send(t, m, u, { body: m === 'POST' ? {} : undefined })),
      );
      const writer = await Promise.all(
        routes.map(([m, u]) =>
          send(t, m, u, {
            secret: secrets.acmeWriter,
            body: m === 'POST' ? { handler: 'audit' } : undefined,
          }),
        ),
      );
      const listed = await send(t, 'GET', '/v1/replays', { secret: secrets.acmeAdmin });

      expect(anonymous.map((r) => [r.statusCode, r.json().error.code])).toEqual(
        routes.map(() => [401, 'UNAUTHENTICATED']),
      );
      expect(writer.map((r) => [r.statusCode, r.json().error.code])).toEqual(
        routes.map(() => [403, 'FORBIDDEN']),
      );
      expect(listed.json()).toEqual({ replays: [] });
      expect(t.audited).toEqual([]);
      expect((await t.storage.state('totals')).versions).toEqual([]);
    });

    it("replays only the key's tenant events, and shows each tenant only its own runs", async () => {
      await openWithKeys();

      const started = await send(t, 'POST', '/v1/replays', {
        secret: secrets.acmeAdmin,
        body: { handler: 'audit' },
      });
      const id = started.json<{ id: string }>().id;
      const run = await pollUntil(t, `/v1/replays/${id}`, finished, secrets.acmeAdmin);
      const globexReads = await send(t, 'GET', `/v1/replays/${id}`, {
        secret: secrets.globexAdmin,
      });
      const globexList = await send(t, 'GET', '/v1/replays', { secret: secrets.globexAdmin });

      expect(run).toMatchObject({
        tenant: 'acme',
        status: 'finished',
        result: { scanned: 3, matched: 2, handled: 2 },
      });
      expect(t.audited).toEqual(['a-1', 'a-2']);
      expect(await t.processed.has('audit', 'g-1')).toBe(false);
      expect([globexReads.statusCode, globexReads.json().error.code]).toEqual([404, 'NOT_FOUND']);
      expect(globexList.json()).toEqual({ replays: [] });
      expect(await allEvents(t.store)).toHaveLength(3);
    });

    it("never shows a key a projection's last error message, which can quote any tenant's event", async () => {
      await openWithKeys();

      await send(t, 'POST', '/v1/projections/totals/rebuild', { secret: secrets.globexAdmin });
      const globexView = await pollUntil(
        t,
        '/v1/projections/totals',
        (body) => (body.versions as { lastError: unknown }[])[0]?.lastError !== null,
        secrets.globexAdmin,
      );
      const state = await t.storage.state('totals');

      expect(globexView).toMatchObject({
        versions: [{ mode: 'building', position: null }],
        rebuild: { status: 'building' },
      });
      expect((globexView.versions as { lastError: unknown }[])[0]!.lastError).toEqual({
        message:
          "hidden from API keys: projections read every tenant's events; see the server log or eventfabric projections status",
        at: expect.any(String) as unknown,
        position: '3',
      });
      expect(state.versions[0]!.lastError?.message).toBe('unlucky order order-g of 13');
    });
  });
});
