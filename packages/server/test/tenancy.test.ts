import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createConsumer,
  createEvent,
  createInMemoryTransport,
  type DeadLetter,
} from '@eventfabric/core';
import { FileApiKeyStore } from '../src/index.js';
import {
  ORDER_PLACED,
  allEvents,
  openTestServer,
  orderEvent,
  type TestServer,
} from './server-harness.js';
import { SseClient } from './sse-client.js';

const BATCH = 'application/cloudevents-batch+json';

describe('API keys, scopes and tenants', () => {
  let t: TestServer;
  let keys: FileApiKeyStore;
  /** Secrets by role. */
  const key: Record<'acme' | 'acmeAdmin' | 'acmeShopReader' | 'globex', string> = {
    acme: '',
    acmeAdmin: '',
    acmeShopReader: '',
    globex: '',
  };
  let redriven: string[];
  let keysDir: string;

  beforeEach(async () => {
    redriven = [];
    keysDir = mkdtempSync(join(tmpdir(), 'eventfabric-keys-'));
    keys = new FileApiKeyStore(join(keysDir, 'api-keys.json'));
    key.acme = (await keys.create({ tenant: 'acme', scopes: ['publish:shop.*', 'read:*'] })).secret;
    key.acmeAdmin = (await keys.create({ tenant: 'acme', scopes: ['admin', 'read:*'] })).secret;
    key.acmeShopReader = (
      await keys.create({ tenant: 'acme', scopes: ['read:shop.order.*'] })
    ).secret;
    key.globex = (
      await keys.create({ tenant: 'globex', scopes: ['publish:*', 'read:*', 'admin'] })
    ).secret;
    t = await openTestServer({
      schemas: 'none',
      keys,
      redrive: (filter) =>
        createConsumer({
          service: 'app',
          transport: createInMemoryTransport(),
          deadLetters: t.deadLetters,
          handlers: [
            { name: 'mailer', on: ['*'], handle: (event) => void redriven.push(event.id) },
          ],
        }).redrive(filter),
    });
  });
  afterEach(async () => {
    await t.close();
    rmSync(keysDir, { recursive: true, force: true });
  });

  function send(
    method: 'GET' | 'POST' | 'DELETE',
    url: string,
    secret: string | undefined,
    payload?: unknown,
    contentType = 'application/json',
  ) {
    return t.server.app.inject({
      method,
      url,
      headers: {
        ...(secret === undefined ? {} : { authorization: `Bearer ${secret}` }),
        ...(payload === undefined ? {} : { 'content-type': contentType }),
      },
      payload: payload === undefined ? undefined : JSON.stringify(payload),
    });
  }

  async function seed(): Promise<void> {
    expect(
      (
        await send(
          'POST',
          '/v1/events',
          key.acme,
          [orderEvent({ id: 'a-1', subject: 'order-a' })],
          BATCH,
        )
      ).statusCode,
    ).toBe(201);
    expect(
      (
        await send(
          'POST',
          '/v1/events',
          key.globex,
          [
            orderEvent({ id: 'g-1', subject: 'order-g' }),
            orderEvent({ id: 'g-2', type: 'bank.payment.settled.v1', subject: 'payment-g' }),
          ],
          BATCH,
        )
      ).statusCode,
    ).toBe(201);
  }

  describe('authentication', () => {
    it('refuses a /v1 request without a key, with a malformed, unknown or revoked one (401); probes stay open', async () => {
      const revoked = await keys.create({ tenant: 'acme', scopes: ['read:*'] });
      await keys.revoke(revoked.record.id);

      const missing = await send('GET', '/v1/events', undefined);
      const malformed = await t.server.app.inject({
        method: 'GET',
        url: '/v1/events',
        headers: { authorization: 'Basic abc' },
      });
      const unknown = await send('GET', '/v1/events', `ef_0123456789abcdef_${'x'.repeat(43)}`);
      const wasRevoked = await send('GET', '/v1/events', revoked.secret);
      const probe = await t.server.app.inject({ method: 'GET', url: '/readyz' });

      expect(
        [missing, malformed, unknown, wasRevoked].map((r) => [
          r.statusCode,
          r.json().error.code,
          r.json().error.details.reason,
        ]),
      ).toEqual([
        [401, 'UNAUTHENTICATED', 'missing'],
        [401, 'UNAUTHENTICATED', 'malformed'],
        [401, 'UNAUTHENTICATED', 'unknown'],
        [401, 'UNAUTHENTICATED', 'unknown'],
      ]);
      expect(probe.statusCode).toBe(200);
    });

    it('checks the matched route, not the raw URL: a percent-encoded path gets no further', async () => {
      const encodedV1 = await send('GET', '/%761/events', undefined);
      const encodedDlq = await send('GET', '/v1/%64lq', key.acme);

      expect(encodedV1.statusCode).toBe(401);
      expect(encodedDlq.statusCode).toBe(403);
      expect(encodedDlq.json().error.details).toEqual({ scope: 'admin' });
    });

    it('stores keys hashed: the file never holds a secret', async () => {
      const text = JSON.stringify(await keys.list());

      for (const secret of Object.values(key)) expect(text).not.toContain(secret.slice(20));
      expect((await keys.list()).map((r) => r.tenant)).toEqual(['acme', 'acme', 'acme', 'globex']);
    });
  });

  describe('POST /v1/events', () => {
    it('stamps the key tenant on every event', async () => {
      await seed();

      const stored = await t.store.readAll();
      expect(stored.map((e) => [e.id, e.tenantid])).toEqual([
        ['a-1', 'acme'],
        ['g-1', 'globex'],
        ['g-2', 'globex'],
      ]);
    });

    const refused: [string, () => Record<string, unknown>[], keyof typeof key][] = [
      [
        'a type outside the publish scope',
        () => [
          orderEvent({ id: 'x-1' }),
          orderEvent({ id: 'x-2', type: 'bank.payment.settled.v1' }),
        ],
        'acme',
      ],
      ['another tenant in tenantid', () => [orderEvent({ id: 'x-3', tenantid: 'globex' })], 'acme'],
      [
        'a write into another tenant stream',
        () => [
          orderEvent({ id: 'x-4', subject: 'order-z' }),
          orderEvent({ id: 'x-5', subject: 'order-a' }),
        ],
        'globex',
      ],
      ['a key without any publish scope', () => [orderEvent({ id: 'x-6' })], 'acmeAdmin'],
    ];
    for (const [name, events, role] of refused) {
      it(`refuses ${name} with 403 FORBIDDEN, storing nothing`, async () => {
        await seed();
        const before = await allEvents(t.store);

        const response = await send('POST', '/v1/events', key[role], events(), BATCH);

        expect(response.statusCode).toBe(403);
        expect(response.json().error.code).toBe('FORBIDDEN');
        expect(await allEvents(t.store)).toEqual(before);
      });
    }
  });

  describe('/v1/streams/:id', () => {
    it('refuses an append into another tenant stream (403) and reads it as missing (404)', async () => {
      await seed();

      const append = await send(
        'POST',
        '/v1/streams/order-a',
        key.globex,
        orderEvent({ subject: 'order-a' }),
      );
      const read = await send('GET', '/v1/streams/order-a', key.globex);
      const own = await send('GET', '/v1/streams/order-a', key.acme);

      expect(append.statusCode).toBe(403);
      expect(append.json().error).toMatchObject({
        code: 'FORBIDDEN',
        details: { streamId: 'order-a' },
      });
      expect(read.statusCode).toBe(404);
      expect(own.json().events.map((e: { id: string }) => e.id)).toEqual(['a-1']);
      expect(await t.store.streamVersion('order-a')).toBe(0);
    });
  });

  describe('GET /v1/events', () => {
    it('shows each tenant only its own events, and only the types its read scopes name', async () => {
      await seed();
      await send(
        'POST',
        '/v1/events',
        key.acme,
        [orderEvent({ id: 'a-2', type: 'shop.basket.emptied.v1', subject: 'basket-a' })],
        BATCH,
      );

      const ids = async (secret: string) =>
        (await send('GET', '/v1/events', secret)).json().events.map((e: { id: string }) => e.id);

      expect(await ids(key.acme)).toEqual(['a-1', 'a-2']);
      expect(await ids(key.globex)).toEqual(['g-1', 'g-2']);
      expect(await ids(key.acmeShopReader)).toEqual(['a-1']);
      const correlated = await send('GET', '/v1/events?correlationid=g-1', key.acme);
      expect(correlated.json().events).toEqual([]);
    });

    it('refuses a key without a read scope (403)', async () => {
      const globexWriter = await keys.create({ tenant: 'globex', scopes: ['publish:*'] });

      const response = await send('GET', '/v1/events', globexWriter.secret);

      expect(response.statusCode).toBe(403);
      expect(response.json().error.details).toEqual({ scope: 'read' });
    });
  });

  describe('GET /v1/subscribe', () => {
    it('streams each tenant only its own events (real HTTP)', async () => {
      const base = await t.server.listen({ port: 0, host: '127.0.0.1' });
      const acme = new SseClient(`${base}/v1/subscribe?after=0`, {
        authorization: `Bearer ${key.acme}`,
      });
      const globex = new SseClient(`${base}/v1/subscribe?after=0`, {
        authorization: `Bearer ${key.globex}`,
      });
      const anonymous = new SseClient(`${base}/v1/subscribe?after=0`);
      try {
        await Promise.all([acme.connected(), globex.connected(), anonymous.connected()]);
        await seed();
        await acme.until(() => acme.ids().length === 1);
        await globex.until(() => globex.ids().length === 2);

        expect(acme.messages.map((m) => (JSON.parse(m.data) as { id: string }).id)).toEqual([
          'a-1',
        ]);
        expect(globex.messages.map((m) => (JSON.parse(m.data) as { id: string }).id)).toEqual([
          'g-1',
          'g-2',
        ]);
        expect(anonymous.status).toBe(401);
      } finally {
        acme.close();
        globex.close();
        anonymous.close();
      }
    });
  });

  describe('revocation during an SSE stream', () => {
    it('ends the stream at the next heartbeat with reason key_revoked', async () => {
      const quick = await openTestServer({ keys, limits: { sseHeartbeatMs: 50 } });
      const base = await quick.server.listen({ port: 0, host: '127.0.0.1' });
      const created = await keys.create({ tenant: 'acme', scopes: ['read:*'] });
      const client = new SseClient(`${base}/v1/subscribe`, {
        authorization: `Bearer ${created.secret}`,
      });
      try {
        await client.connected();
        await client.until(() => client.comments.includes('heartbeat'));

        await keys.revoke(created.record.id);
        await client.until(() => client.isEnded);

        const last = client.messages.at(-1)!;
        expect(last.event).toBe('end');
        expect(JSON.parse(last.data)).toEqual({
          reason: 'key_revoked',
          error: {
            code: 'UNAUTHENTICATED',
            message: 'the API key was revoked',
            details: { reason: 'revoked' },
          },
        });
      } finally {
        client.close();
        await quick.close();
      }
    });
  });

  describe('/v1/schemas', () => {
    it('lets any key read schemas, and only an admin key register one', async () => {
      const schema = { type: 'object' };

      const reader = await send('GET', '/v1/schemas', key.acme);
      const refused = await send('POST', '/v1/schemas/shop.basket.emptied.v1', key.acme, schema);
      const admin = await send('POST', '/v1/schemas/shop.basket.emptied.v1', key.acmeAdmin, schema);

      expect(reader.statusCode).toBe(200);
      expect(refused.statusCode).toBe(403);
      expect(refused.json().error.details).toEqual({ scope: 'admin' });
      expect(admin.statusCode).toBe(201);
      expect(t.registry.list().map((r) => r.type)).toEqual([
        'shop.basket.emptied.v1',
        ORDER_PLACED,
      ]);
    });
  });

  describe('/v1/dlq', () => {
    let acmeLetter: DeadLetter;
    let globexLetter: DeadLetter;
    beforeEach(async () => {
      const letter = (tenantid: string, subject: string) => ({
        handler: 'mailer',
        group: 'app.mailer',
        origin: 'app.mailer',
        reason: 'exhausted' as const,
        event: createEvent({
          type: ORDER_PLACED,
          source: '/shop',
          subject,
          data: { amount: 1 },
          tenantid,
        }),
        error: { code: 'HANDLER_FAILED', message: 'boom' },
        attempts: 5,
        firstFailedAt: '2026-01-01T00:00:00.000Z',
        lastFailedAt: '2026-01-01T00:00:00.000Z',
      });
      acmeLetter = await t.deadLetters.add(letter('acme', 'order-a'));
      globexLetter = await t.deadLetters.add(letter('globex', 'order-g'));
    });
    const remaining = async () => (await t.deadLetters.list()).map((d) => d.id);

    it('lists, shows, purges and retries only the key tenant dead letters', async () => {
      const list = await send('GET', '/v1/dlq', key.acmeAdmin);
      const showOther = await send('GET', `/v1/dlq/${globexLetter.id}`, key.acmeAdmin);
      const deleteOther = await send('DELETE', `/v1/dlq/${globexLetter.id}`, key.acmeAdmin);
      const retryOther = await send('POST', '/v1/dlq/retry', key.acmeAdmin, {
        ids: [globexLetter.id],
      });
      const retryAll = await send('POST', '/v1/dlq/retry', key.acmeAdmin, { all: true });

      expect(list.json()).toEqual({ deadLetters: [acmeLetter], total: 1 });
      expect([showOther.statusCode, deleteOther.statusCode, retryOther.statusCode]).toEqual([
        404, 404, 404,
      ]);
      expect(retryAll.json()).toEqual({ redriven: [acmeLetter.id], failed: [], heldBack: [] });
      expect(redriven).toEqual([acmeLetter.event.id]);
      expect(await remaining()).toEqual([globexLetter.id]);

      const purgeAll = await send('POST', '/v1/dlq/purge', key.globex, { all: true });
      expect(purgeAll.json()).toEqual({ removed: 1 });
      expect(await remaining()).toEqual([]);
    });

    it('refuses a key without the admin scope (403)', async () => {
      const response = await send('GET', '/v1/dlq', key.acme);

      expect(response.statusCode).toBe(403);
      expect(await remaining()).toEqual([acmeLetter.id, globexLetter.id]);
    });
  });
});
