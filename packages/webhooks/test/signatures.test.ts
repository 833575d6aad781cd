import { describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { ErrorCodes, isEventFabricError } from '@eventfabric/core';
import {
  generateSecret,
  signGithub,
  signStandardWebhook,
  signStripe,
  verifyGithub,
  verifyStandardWebhook,
  verifyStripe,
} from '../src/index.js';

const body = JSON.stringify({ specversion: '1.0', id: 'evt-1', type: 'shop.order.placed.v1' });
const now = Math.floor(Date.now() / 1000);

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (error) {
    return isEventFabricError(error) ? error.code : `not ours: ${String(error)}`;
  }
}

describe('Standard Webhooks interop with the standardwebhooks library', () => {
  it('given our signature, when the library verifies it, then it accepts the payload', () => {
    const secret = generateSecret();
    const headers = signStandardWebhook([secret], { id: 'msg_1', timestamp: now, body });
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+={0,2}$/);
    expect(new Webhook(secret).verify(body, { ...headers })).toEqual(JSON.parse(body));
  });

  it('given a rotation overlap, when both secrets sign, then a receiver holding either verifies', () => {
    const [oldSecret, newSecret] = [generateSecret(), generateSecret()];
    const headers = signStandardWebhook([newSecret, oldSecret], {
      id: 'msg_2',
      timestamp: now,
      body,
    });
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
    expect(new Webhook(oldSecret).verify(body, { ...headers })).toEqual(JSON.parse(body));
    expect(new Webhook(newSecret).verify(body, { ...headers })).toEqual(JSON.parse(body));
    expect(() => new Webhook(generateSecret()).verify(body, { ...headers })).toThrow(
      /No matching signature/,
    );
  });

  it('given a message the library signs, when we verify it, then it is accepted', () => {
    const secret = generateSecret();
    const signature = new Webhook(secret).sign('msg_3', new Date(now * 1000), body);
    const headers = {
      'webhook-id': 'msg_3',
      'webhook-timestamp': String(now),
      'webhook-signature': signature,
    };
    expect(verifyStandardWebhook([secret], headers, body)).toEqual({ id: 'msg_3', timestamp: now });
    // Either secret of a rotation works.
    expect(verifyStandardWebhook([generateSecret(), secret], headers, body).id).toBe('msg_3');
  });

  it('given a wrong key, a tampered body or a stale timestamp, then verification fails with its code', () => {
    const secret = generateSecret();
    const signature = new Webhook(secret).sign('msg_4', new Date(now * 1000), body);
    const headers = {
      'webhook-id': 'msg_4',
      'webhook-timestamp': String(now),
      'webhook-signature': signature,
    };
    expect(codeOf(() => verifyStandardWebhook([generateSecret()], headers, body))).toBe(
      ErrorCodes.WEBHOOK_SIGNATURE_INVALID,
    );
    expect(codeOf(() => verifyStandardWebhook([secret], headers, `${body} `))).toBe(
      ErrorCodes.WEBHOOK_SIGNATURE_INVALID,
    );
    const stale = now - 301;
    const staleHeaders = {
      'webhook-id': 'msg_4',
      'webhook-timestamp': String(stale),
      'webhook-signature': new Webhook(secret).sign('msg_4', new Date(stale * 1000), body),
    };
    expect(codeOf(() => verifyStandardWebhook([secret], staleHeaders, body))).toBe(
      ErrorCodes.WEBHOOK_TIMESTAMP_INVALID,
    );
    // Our stale signature is refused by the library too.
    const ours = signStandardWebhook([secret], { id: 'msg_5', timestamp: stale, body });
    expect(() => new Webhook(secret).verify(body, { ...ours })).toThrow(/too old/);
    expect(
      codeOf(() => verifyStandardWebhook([secret], { ...headers, 'webhook-signature': '' }, body)),
    ).toBe(ErrorCodes.WEBHOOK_SIGNATURE_INVALID);
    expect(
      codeOf(() => verifyStandardWebhook([secret], { ...headers, 'webhook-timestamp': 'x' }, body)),
    ).toBe(ErrorCodes.WEBHOOK_TIMESTAMP_INVALID);
  });

  it('given a secret that is not whsec_ base64, then signing refuses it', () => {
    expect(
      codeOf(() => signStandardWebhook(['whsec_***'], { id: 'm', timestamp: now, body })),
    ).toBe(ErrorCodes.INVALID_ARGUMENT);
    expect(generateSecret()).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
  });
});

describe('GitHub and Stripe style verification', () => {
  it("given GitHub's X-Hub-Signature-256, then the right secret verifies and a wrong one fails", () => {
    const sig = signGithub("It's a Secret to Everybody", 'Hello, World!');
    // GitHub's documented example value.
    expect(sig).toBe('sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17');
    expect(() =>
      verifyGithub(["It's a Secret to Everybody"], { 'X-Hub-Signature-256': sig }, 'Hello, World!'),
    ).not.toThrow();
    expect(
      codeOf(() => verifyGithub(['other'], { 'x-hub-signature-256': sig }, 'Hello, World!')),
    ).toBe(ErrorCodes.WEBHOOK_SIGNATURE_INVALID);
    expect(codeOf(() => verifyGithub(['s'], {}, 'Hello, World!'))).toBe(
      ErrorCodes.WEBHOOK_SIGNATURE_INVALID,
    );
  });

  it('given a Stripe-Signature, then time and signature are both checked', () => {
    const secret = 'whsec_test_stripe';
    const header = signStripe(secret, body, now);
    expect(verifyStripe([secret], { 'stripe-signature': header }, body)).toBe(now);
    expect(codeOf(() => verifyStripe(['whsec_other'], { 'stripe-signature': header }, body))).toBe(
      ErrorCodes.WEBHOOK_SIGNATURE_INVALID,
    );
    const stale = signStripe(secret, body, now - 400);
    expect(codeOf(() => verifyStripe([secret], { 'stripe-signature': stale }, body))).toBe(
      ErrorCodes.WEBHOOK_TIMESTAMP_INVALID,
    );
    expect(codeOf(() => verifyStripe([secret], { 'stripe-signature': `t=${now}` }, body))).toBe(
      ErrorCodes.WEBHOOK_SIGNATURE_INVALID,
    );
  });
});
