import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { generateSecret, incomingEventId, signGithub, signStripe } from '@eventfabric/webhooks';
import { openWebhookServer, type WebhookTestServer } from './webhooks-harness.js';

const secret = generateSecret();
const payload = JSON.stringify({ invoice: 'inv_1', amount: 12 });

describe('POST /v1/hooks/:source', () => {
  let t: WebhookTestServer;

  beforeEach(async () => {
    t = await openWebhookServer({
      billing: {
        scheme: 'standard',
        secrets: [secret],
        type: 'billing.invoice.received.v1',
        tenant: 'acme',
      },
      github: {
        scheme: 'github',
        secrets: ['gh'],
        type: 'github.push.received.v1',
        tenant: 'acme',
      },
      stripe: {
        scheme: 'stripe',
        secrets: ['whsec_stripe'],
        type: 'stripe.event.received.v1',
        tenant: 'globex',
        toleranceSeconds: 60,
      },
    });
  });
  afterEach(() => t.close());

  const signed = (id: string, at = new Date(), body = payload, key = secret) => ({
    'content-type': 'application/json',
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': new Webhook(key).sign(id, at, body),
  });
  const post = (source: string, headers: Record<string, string>, body = payload) =>
    t.server.app.inject({ method: 'POST', url: `/v1/hooks/${source}`, headers, payload: body });
  const stored = async () => (await t.store.readAll({ limit: 100 })).map((e) => e.id);

  it('given a message the standardwebhooks library signs, then it is stored without an API key, for the source tenant only', async () => {
    const response = await post('billing', signed('msg_1'));
    expect(response.statusCode).toBe(201);
    const eventId = incomingEventId('billing', 'msg_1');
    expect(response.json()).toEqual({ eventId, webhookId: 'msg_1', position: '1' });
    const acme = await t.server.app.inject({ url: '/v1/events', headers: t.auth.acmeAdmin });
    expect(
      acme
        .json()
        .events.map((e: { id: string; type: string; data: unknown }) => [e.id, e.type, e.data]),
    ).toEqual([[eventId, 'billing.invoice.received.v1', { invoice: 'inv_1', amount: 12 }]]);
    const globex = await t.server.app.inject({ url: '/v1/events', headers: t.auth.globexAdmin });
    expect(globex.json().events).toEqual([]);
    // Any content type: the signature covers the raw bytes.
    const text = await post('billing', { ...signed('msg_2'), 'content-type': 'text/plain' });
    expect(text.statusCode).toBe(201);
  });

  it.each([
    [
      'a wrong key',
      () => signed('m', new Date(), payload, generateSecret()),
      401,
      'WEBHOOK_SIGNATURE_INVALID',
    ],
    [
      'no signature',
      () => ({ ...signed('m'), 'webhook-signature': '' }),
      401,
      'WEBHOOK_SIGNATURE_INVALID',
    ],
    [
      'a stale timestamp',
      () => signed('m', new Date(Date.now() - 6 * 60_000)),
      401,
      'WEBHOOK_TIMESTAMP_INVALID',
    ],
    [
      'a future timestamp',
      () => signed('m', new Date(Date.now() + 6 * 60_000)),
      401,
      'WEBHOOK_TIMESTAMP_INVALID',
    ],
    [
      'a tampered body',
      () => signed('m', new Date(), '{"invoice":"inv_2","amount":12}'),
      401,
      'WEBHOOK_SIGNATURE_INVALID',
    ],
  ] as const)(
    'given %s, then it is refused with its code and nothing is stored',
    async (_name, headers, status, code) => {
      const response = await post('billing', headers());
      expect([response.statusCode, response.json().error.code]).toEqual([status, code]);
      expect(response.json().error.details.source).toBe('billing');
      expect(await stored()).toEqual([]);
    },
  );

  it('given a replay, an unknown source or a body that is not JSON, then each is refused and the store holds one event', async () => {
    const headers = signed('msg_9');
    expect((await post('billing', headers)).statusCode).toBe(201);
    const replay = await post('billing', headers);
    expect([replay.statusCode, replay.json().error]).toEqual([
      409,
      {
        code: 'WEBHOOK_REPLAYED',
        message: 'webhook msg_9 from source billing was already received',
        details: { source: 'billing', webhookId: 'msg_9' },
      },
    ]);
    const unknown = await post('nope', signed('msg_10'));
    expect([unknown.statusCode, unknown.json().error.code]).toEqual([404, 'NOT_FOUND']);
    const notJson = await post('billing', signed('msg_11', new Date(), 'nope{'), 'nope{');
    expect([notJson.statusCode, notJson.json().error.code]).toEqual([400, 'MALFORMED_BODY']);
    expect(await stored()).toEqual([incomingEventId('billing', 'msg_9')]);
  });

  it('given GitHub and Stripe senders, then their signatures are checked and their ids guard replays', async () => {
    const gh = {
      'content-type': 'application/json',
      'x-github-delivery': 'd1',
      'x-hub-signature-256': signGithub('gh', payload),
    };
    expect((await post('github', gh)).statusCode).toBe(201);
    expect((await post('github', gh)).json().error.code).toBe('WEBHOOK_REPLAYED');
    const badGh = {
      ...gh,
      'x-github-delivery': 'd2',
      'x-hub-signature-256': signGithub('other', payload),
    };
    expect((await post('github', badGh)).json().error.code).toBe('WEBHOOK_SIGNATURE_INVALID');
    const event = JSON.stringify({ id: 'evt_1', type: 'invoice.paid' });
    const now = Math.floor(Date.now() / 1000);
    const stripe = (t0: number, key = 'whsec_stripe') => ({
      'content-type': 'application/json',
      'stripe-signature': signStripe(key, event, t0),
    });
    expect((await post('stripe', stripe(now - 120), event)).json().error.code).toBe(
      'WEBHOOK_TIMESTAMP_INVALID',
    );
    expect((await post('stripe', stripe(now, 'whsec_x'), event)).json().error.code).toBe(
      'WEBHOOK_SIGNATURE_INVALID',
    );
    expect((await post('stripe', stripe(now), event)).statusCode).toBe(201);
    expect((await post('stripe', stripe(now + 1), event)).json().error.code).toBe(
      'WEBHOOK_REPLAYED',
    );
    expect(await stored()).toEqual([
      incomingEventId('github', 'd1'),
      incomingEventId('stripe', 'evt_1'),
    ]);
    // The Stripe source's tenant is globex: acme does not see it.
    const acme = await t.server.app.inject({ url: '/v1/events', headers: t.auth.acmeAdmin });
    expect(acme.json().events.map((e: { id: string }) => e.id)).toEqual([
      incomingEventId('github', 'd1'),
    ]);
  });
});
