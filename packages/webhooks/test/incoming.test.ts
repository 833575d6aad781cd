import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { ErrorCodes, isEventFabricError } from '@eventfabric/core';
import {
  IncomingWebhooks,
  generateSecret,
  incomingEventId,
  signGithub,
  signStripe,
} from '../src/index.js';
import { openFixture, type Fixture } from './harness.js';

const secret = generateSecret();
const body = Buffer.from(JSON.stringify({ action: 'opened', number: 7 }));

describe('incoming webhooks', () => {
  let f: Fixture;
  let hooks: IncomingWebhooks;

  beforeEach(() => {
    f = openFixture();
    hooks = new IncomingWebhooks({
      store: f.events,
      sources: {
        billing: {
          scheme: 'standard',
          secrets: [secret],
          type: 'billing.invoice.received.v1',
          tenant: 'acme',
        },
        github: { scheme: 'github', secrets: ['gh-secret'], type: 'github.push.received.v1' },
        stripe: { scheme: 'stripe', secrets: ['whsec_stripe'], type: 'stripe.event.received.v1' },
      },
    });
  });
  afterEach(() => f.close());

  async function code(promise: Promise<unknown>): Promise<string | undefined> {
    try {
      await promise;
      return undefined;
    } catch (error) {
      return isEventFabricError(error) ? error.code : String(error);
    }
  }

  const stored = async () => (await f.events.readAll({ limit: 100 })).map((e) => e.id);

  it('given a message the standardwebhooks library signs, then it is stored once as the configured CloudEvent', async () => {
    const now = new Date();
    const headers = {
      'webhook-id': 'msg_1',
      'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
      'webhook-signature': new Webhook(secret).sign('msg_1', now, body),
    };
    const received = await hooks.receive('billing', headers, body);
    expect(received).toEqual({
      eventId: incomingEventId('billing', 'msg_1'),
      webhookId: 'msg_1',
      position: '1',
    });
    const [event] = await f.events.readAll({ limit: 10 });
    expect(event).toMatchObject({
      id: incomingEventId('billing', 'msg_1'),
      type: 'billing.invoice.received.v1',
      source: '/hooks/billing',
      subject: 'hooks-billing',
      tenantid: 'acme',
      webhookid: 'msg_1',
      data: { action: 'opened', number: 7 },
    });
    // The same webhook again: refused as a replay, still stored once.
    expect(await code(hooks.receive('billing', headers, body))).toBe(ErrorCodes.WEBHOOK_REPLAYED);
    expect(await stored()).toEqual([received.eventId]);
  });

  it('given a wrong key, a stale timestamp or a bad body, then it is refused and nothing is stored', async () => {
    const now = new Date();
    const wrong = {
      'webhook-id': 'msg_2',
      'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
      'webhook-signature': new Webhook(generateSecret()).sign('msg_2', now, body),
    };
    expect(await code(hooks.receive('billing', wrong, body))).toBe(
      ErrorCodes.WEBHOOK_SIGNATURE_INVALID,
    );
    const stale = new Date(now.getTime() - 10 * 60_000);
    const staleHeaders = {
      'webhook-id': 'msg_3',
      'webhook-timestamp': String(Math.floor(stale.getTime() / 1000)),
      'webhook-signature': new Webhook(secret).sign('msg_3', stale, body),
    };
    expect(await code(hooks.receive('billing', staleHeaders, body))).toBe(
      ErrorCodes.WEBHOOK_TIMESTAMP_INVALID,
    );
    const notJson = Buffer.from('{nope');
    const signedNotJson = {
      'webhook-id': 'msg_4',
      'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
      'webhook-signature': new Webhook(secret).sign('msg_4', now, notJson),
    };
    expect(await code(hooks.receive('billing', signedNotJson, notJson))).toBe(
      ErrorCodes.MALFORMED_BODY,
    );
    expect(await code(hooks.receive('nope', wrong, body))).toBe(ErrorCodes.NOT_FOUND);
    expect(await stored()).toEqual([]);
  });

  it('given GitHub and Stripe signatures, then valid ones are stored and replays refused by delivery or event id', async () => {
    const gh = { 'x-hub-signature-256': signGithub('gh-secret', body), 'x-github-delivery': 'd-1' };
    await hooks.receive('github', gh, body);
    expect(await code(hooks.receive('github', gh, body))).toBe(ErrorCodes.WEBHOOK_REPLAYED);
    expect(
      await code(
        hooks.receive('github', { ...gh, 'x-hub-signature-256': signGithub('x', body) }, body),
      ),
    ).toBe(ErrorCodes.WEBHOOK_SIGNATURE_INVALID);
    const stripeBody = Buffer.from(JSON.stringify({ id: 'evt_1', type: 'invoice.paid' }));
    const now = Math.floor(Date.now() / 1000);
    const stripe = { 'stripe-signature': signStripe('whsec_stripe', stripeBody, now) };
    await hooks.receive('stripe', stripe, stripeBody);
    // Re-signed later with a fresh timestamp, the same Stripe event is still a replay.
    const resigned = { 'stripe-signature': signStripe('whsec_stripe', stripeBody, now + 1) };
    expect(await code(hooks.receive('stripe', resigned, stripeBody))).toBe(
      ErrorCodes.WEBHOOK_REPLAYED,
    );
    expect(await stored()).toEqual([
      incomingEventId('github', 'd-1'),
      incomingEventId('stripe', 'evt_1'),
    ]);
  });

  it('given a bad source configuration, then construction fails with INVALID_CONFIG', () => {
    const make = (config: unknown) => () =>
      new IncomingWebhooks({ store: f.events, sources: { x: config } as never });
    expect(make({ scheme: 'hmac', secrets: ['s'], type: 'a.b.c.v1' })).toThrow(/scheme/);
    expect(make({ scheme: 'standard', secrets: ['not base64!'], type: 'a.b.c.v1' })).toThrow(
      /whsec_/,
    );
    expect(make({ scheme: 'github', secrets: [], type: 'a.b.c.v1' })).toThrow(/secrets/);
  });
});
