import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createEvent } from '@eventfabric/core';
import { deliveryOf, type WebhookSubscription } from '@eventfabric/webhooks';
import { openWebhookServer, type WebhookTestServer } from './webhooks-harness.js';

const URL_OK = 'http://127.0.0.1:9/hook';

describe('/v1/webhooks', () => {
  let t: WebhookTestServer;
  let sub: WebhookSubscription;
  let deliveryId: string;

  beforeEach(async () => {
    t = await openWebhookServer();
    const created = await t.service.create('acme', { url: URL_OK, types: ['shop.*'] });
    sub = (await t.webhooks.getSubscription(created.id))!;
    const event = createEvent({
      type: 'shop.order.placed.v1',
      source: '/shop',
      subject: 'order-1',
      data: {},
      tenantid: 'acme',
    });
    const delivery = deliveryOf(sub, event, Date.now());
    await t.webhooks.enqueue([delivery]);
    await t.webhooks.recordAttempt(
      'test',
      {
        deliveryId: delivery.id,
        subscriptionId: sub.id,
        eventId: event.id,
        attempt: 1,
        at: 1,
        outcome: 'failed',
        status: 500,
        latencyMs: 3,
        response: 'boom',
      },
      { status: 'failed', nextAttemptAt: 1 },
    );
    // recordAttempt is fenced by the claim: claim first, then record.
    const [claimed] = await t.webhooks.claimDue(Date.now() + 1, 1, 'test', 60_000);
    await t.webhooks.recordAttempt(
      'test',
      {
        deliveryId: claimed!.id,
        subscriptionId: sub.id,
        eventId: event.id,
        attempt: 1,
        at: 2,
        outcome: 'failed',
        status: 500,
        latencyMs: 3,
        response: 'boom',
      },
      { status: 'failed', nextAttemptAt: 2 },
    );
    deliveryId = delivery.id;
  });
  afterEach(() => t.close());

  const inject = (
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
    url: string,
    role: keyof WebhookTestServer['auth'] | 'anonymous' = 'acmeAdmin',
    payload?: unknown,
  ) =>
    t.server.app.inject({
      method,
      url,
      headers: role === 'anonymous' ? {} : t.auth[role],
      ...(payload === undefined ? {} : { payload: payload as object }),
    });

  /** Everything the routes can change: what "nothing was written" compares. */
  const snapshot = async () => ({
    subscriptions: await t.webhooks.listSubscriptions({}),
    deliveries: await t.webhooks.listDeliveries({ subscriptionId: sub.id, limit: 100 }),
    attempts: await t.webhooks.listAttempts({ subscriptionId: sub.id, limit: 100 }),
  });

  it('given an admin key, when it manages a subscription, then every route answers as documented', async () => {
    const created = await inject('POST', '/v1/webhooks', 'acmeAdmin', {
      url: URL_OK,
      types: ['shop.order.*'],
      description: 'orders',
      ordered: true,
    });
    expect(created.statusCode).toBe(201);
    const body = created.json();
    expect(body).toMatchObject({
      tenant: 'acme',
      url: URL_OK,
      types: ['shop.order.*'],
      description: 'orders',
      ordered: true,
      enabled: true,
      signingSecrets: 1,
    });
    expect(body.secret).toMatch(/^whsec_/);
    const list = await inject('GET', '/v1/webhooks');
    expect(list.json().webhooks.map((w: { id: string }) => w.id)).toEqual([sub.id, body.id]);
    expect(list.json().webhooks[0].secrets).toBeUndefined();
    expect((await inject('GET', `/v1/webhooks/${body.id}`)).json().id).toBe(body.id);
    const patched = await inject('PATCH', `/v1/webhooks/${body.id}`, 'acmeAdmin', {
      enabled: false,
    });
    expect(patched.json()).toMatchObject({ enabled: false, disabledReason: 'manual' });
    const rotated = await inject('POST', `/v1/webhooks/${body.id}/rotate-secret`, 'acmeAdmin', {});
    expect(rotated.statusCode).toBe(200);
    expect(rotated.json().signingSecrets).toBe(2);
    expect(rotated.json().secret).not.toBe(body.secret);
    const deliveries = await inject('GET', `/v1/webhooks/${sub.id}/deliveries?status=failed`);
    expect(deliveries.json().deliveries.map((d: { id: string }) => d.id)).toEqual([deliveryId]);
    const attempts = await inject('GET', `/v1/webhooks/${sub.id}/attempts`);
    expect(attempts.json().attempts).toEqual([
      expect.objectContaining({ deliveryId, status: 500, response: 'boom', outcome: 'failed' }),
    ]);
    const one = await inject('GET', `/v1/webhooks/${sub.id}/deliveries/${deliveryId}`);
    expect(one.json().delivery.id).toBe(deliveryId);
    expect(one.json().attempts).toHaveLength(1);
    const resent = await inject('POST', `/v1/webhooks/${sub.id}/deliveries/${deliveryId}/resend`);
    expect(resent.json().delivery).toMatchObject({ status: 'pending', attempts: 0 });
    const recovered = await inject('POST', `/v1/webhooks/${sub.id}/recover`, 'acmeAdmin', {
      since: '2020-01-01T00:00:00Z',
    });
    expect(recovered.json()).toEqual({ enqueued: 0 });
    expect((await inject('DELETE', `/v1/webhooks/${body.id}`)).statusCode).toBe(204);
    expect((await inject('GET', `/v1/webhooks/${body.id}`)).statusCode).toBe(404);
  });

  const routes = (): [string, 'GET' | 'POST' | 'PATCH' | 'DELETE', string, unknown][] => [
    ['get', 'GET', `/v1/webhooks/${sub.id}`, undefined],
    ['update', 'PATCH', `/v1/webhooks/${sub.id}`, { description: 'mine now' }],
    ['delete', 'DELETE', `/v1/webhooks/${sub.id}`, undefined],
    ['rotate', 'POST', `/v1/webhooks/${sub.id}/rotate-secret`, {}],
    ['deliveries', 'GET', `/v1/webhooks/${sub.id}/deliveries`, undefined],
    ['attempts', 'GET', `/v1/webhooks/${sub.id}/attempts`, undefined],
    ['delivery', 'GET', `/v1/webhooks/${sub.id}/deliveries/${deliveryId}`, undefined],
    ['resend', 'POST', `/v1/webhooks/${sub.id}/deliveries/${deliveryId}/resend`, undefined],
    ['recover', 'POST', `/v1/webhooks/${sub.id}/recover`, { since: '2020-01-01T00:00:00Z' }],
  ];

  it("given another tenant's admin key, then each route answers 404 and changes nothing", async () => {
    const before = await snapshot();
    for (const [name, method, url, payload] of routes()) {
      const response = await inject(method, url, 'globexAdmin', payload);
      expect([name, response.statusCode, response.json().error.code]).toEqual([
        name,
        404,
        'NOT_FOUND',
      ]);
    }
    expect((await inject('GET', '/v1/webhooks', 'globexAdmin')).json()).toEqual({ webhooks: [] });
    // Globex's own subscription is its own, and invisible to acme.
    const theirs = await inject('POST', '/v1/webhooks', 'globexAdmin', { url: URL_OK });
    expect(theirs.json().tenant).toBe('globex');
    expect((await inject('GET', `/v1/webhooks/${theirs.json().id}`)).statusCode).toBe(404);
    await t.webhooks.deleteSubscription(theirs.json().id);
    expect(await snapshot()).toEqual(before);
  });

  it('given a key without admin, or none, then each route answers 403 or 401 and changes nothing', async () => {
    const before = await snapshot();
    const all = [
      ...routes(),
      ['list', 'GET', '/v1/webhooks', undefined],
      ['create', 'POST', '/v1/webhooks', { url: URL_OK }],
    ] as ReturnType<typeof routes>;
    for (const [name, method, url, payload] of all) {
      const reader = await inject(method, url, 'acmeReader', payload);
      expect([name, reader.statusCode, reader.json().error.code]).toEqual([name, 403, 'FORBIDDEN']);
      const anonymous = await inject(method, url, 'anonymous', payload);
      expect([name, anonymous.statusCode, anonymous.json().error.code]).toEqual([
        name,
        401,
        'UNAUTHENTICATED',
      ]);
    }
    expect(await snapshot()).toEqual(before);
  });

  it.each([
    ['create: an array', 'POST', '/v1/webhooks', [URL_OK], 400, 'MALFORMED_BODY'],
    ['create: no url', 'POST', '/v1/webhooks', { types: ['a.*'] }, 400, 'INVALID_ARGUMENT'],
    [
      'create: unknown field',
      'POST',
      '/v1/webhooks',
      { url: URL_OK, colour: 'red' },
      400,
      'INVALID_ARGUMENT',
    ],
    [
      'create: empty types',
      'POST',
      '/v1/webhooks',
      { url: URL_OK, types: [] },
      400,
      'INVALID_ARGUMENT',
    ],
    [
      'create: bad secret',
      'POST',
      '/v1/webhooks',
      { url: URL_OK, secret: 'hunter2' },
      400,
      'INVALID_ARGUMENT',
    ],
    [
      'create: private url',
      'POST',
      '/v1/webhooks',
      { url: 'http://10.0.0.1/x' },
      422,
      'WEBHOOK_TARGET_REFUSED',
    ],
    [
      'create: metadata url',
      'POST',
      '/v1/webhooks',
      { url: 'http://[::ffff:169.254.169.254]/' },
      422,
      'WEBHOOK_TARGET_REFUSED',
    ],
    [
      'create: ftp url',
      'POST',
      '/v1/webhooks',
      { url: 'ftp://example.com/' },
      422,
      'WEBHOOK_TARGET_REFUSED',
    ],
    [
      'create: other tenant',
      'POST',
      '/v1/webhooks',
      { url: URL_OK, tenant: 'globex' },
      400,
      'INVALID_ARGUMENT',
    ],
    [
      'list: unknown parameter',
      'GET',
      '/v1/webhooks?tenant=globex',
      undefined,
      400,
      'INVALID_ARGUMENT',
    ],
    [
      'update: enabled not boolean',
      'PATCH',
      '/v1/webhooks/:id',
      { enabled: 'yes' },
      400,
      'INVALID_ARGUMENT',
    ],
    [
      'update: private url',
      'PATCH',
      '/v1/webhooks/:id',
      { url: 'http://192.168.0.1/' },
      422,
      'WEBHOOK_TARGET_REFUSED',
    ],
    ['update: an array', 'PATCH', '/v1/webhooks/:id', ['x'], 400, 'MALFORMED_BODY'],
    ['update: unknown id', 'PATCH', '/v1/webhooks/nope', { description: 'x' }, 404, 'NOT_FOUND'],
    ['delete: unknown id', 'DELETE', '/v1/webhooks/nope', undefined, 404, 'NOT_FOUND'],
    [
      'rotate: bad secret',
      'POST',
      '/v1/webhooks/:id/rotate-secret',
      { secret: 'whsec_x' },
      400,
      'INVALID_ARGUMENT',
    ],
    [
      'rotate: negative overlap',
      'POST',
      '/v1/webhooks/:id/rotate-secret',
      { overlapMs: -1 },
      400,
      'INVALID_ARGUMENT',
    ],
    [
      'deliveries: bad status',
      'GET',
      '/v1/webhooks/:id/deliveries?status=lost',
      undefined,
      400,
      'INVALID_ARGUMENT',
    ],
    [
      'deliveries: limit 0',
      'GET',
      '/v1/webhooks/:id/deliveries?limit=0',
      undefined,
      400,
      'INVALID_ARGUMENT',
    ],
    [
      'attempts: bad limit',
      'GET',
      '/v1/webhooks/:id/attempts?limit=x',
      undefined,
      400,
      'INVALID_ARGUMENT',
    ],
    [
      'delivery: unknown id',
      'GET',
      '/v1/webhooks/:id/deliveries/nope',
      undefined,
      404,
      'NOT_FOUND',
    ],
    [
      'resend: unknown id',
      'POST',
      '/v1/webhooks/:id/deliveries/nope/resend',
      undefined,
      404,
      'NOT_FOUND',
    ],
    ['recover: no since', 'POST', '/v1/webhooks/:id/recover', {}, 400, 'INVALID_ARGUMENT'],
    [
      'recover: bad since',
      'POST',
      '/v1/webhooks/:id/recover',
      { since: 'yesterday' },
      400,
      'INVALID_ARGUMENT',
    ],
    [
      'recover: unknown field',
      'POST',
      '/v1/webhooks/:id/recover',
      { since: '2020-01-01T00:00:00Z', all: true },
      400,
      'INVALID_ARGUMENT',
    ],
  ] as const)(
    'given bad input (%s), then it fails with its code and writes nothing',
    async (_name, method, url, payload, status, code) => {
      const before = await snapshot();
      const response = await inject(method, url.replace(':id', sub.id), 'acmeAdmin', payload);
      expect([response.statusCode, response.json().error.code]).toEqual([status, code]);
      expect(await snapshot()).toEqual(before);
    },
  );
});
