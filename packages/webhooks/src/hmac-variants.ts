import { createHmac } from 'node:crypto';
import { WebhookSignatureInvalidError } from '@eventfabric/core';
import {
  checkTimestamp,
  header,
  safeEqual,
  type HeaderBag,
  type VerifyOptions,
} from './standard-webhooks.js';

/** GitHub's `X-Hub-Signature-256` value for a body: `sha256=<hex HMAC-SHA256>`. */
export function signGithub(secret: string, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/**
 * Verify GitHub's `X-Hub-Signature-256` against any of `secrets` (constant-time).
 * GitHub sends no signed timestamp; its delivery id (`X-GitHub-Delivery`) guards replays.
 * @throws WebhookSignatureInvalidError
 */
export function verifyGithub(
  secrets: readonly string[],
  headers: HeaderBag,
  body: string | Buffer,
): void {
  const value = header(headers, 'x-hub-signature-256');
  const match = value === undefined ? null : /^sha256=([0-9a-f]{64})$/i.exec(value);
  if (match === null) {
    throw new WebhookSignatureInvalidError('missing or malformed X-Hub-Signature-256', {
      scheme: 'github',
      reason: value === undefined ? 'missing_header' : 'malformed',
    });
  }
  const given = Buffer.from(match[1]!.toLowerCase(), 'hex');
  const ok = secrets.some((secret) =>
    safeEqual(createHmac('sha256', secret).update(body).digest(), given),
  );
  if (!ok) {
    throw new WebhookSignatureInvalidError('X-Hub-Signature-256 does not match', {
      scheme: 'github',
      reason: 'mismatch',
    });
  }
}

/** Stripe's `Stripe-Signature` value: `t=<seconds>,v1=<hex HMAC-SHA256 of "t.body">`. */
export function signStripe(secret: string, body: string | Buffer, timestamp: number): string {
  const hmac = createHmac('sha256', secret).update(`${timestamp}.`).update(body);
  return `t=${timestamp},v1=${hmac.digest('hex')}`;
}

/**
 * Verify a `Stripe-Signature` header: its `t` within the tolerance, and one of its `v1`
 * signatures matching one of `secrets` (Stripe's endpoint secrets are used as given).
 * @returns the signed timestamp
 * @throws WebhookSignatureInvalidError, WebhookTimestampInvalidError
 */
export function verifyStripe(
  secrets: readonly string[],
  headers: HeaderBag,
  body: string | Buffer,
  options: VerifyOptions = {},
): number {
  const value = header(headers, 'stripe-signature');
  if (value === undefined || value === '') {
    throw new WebhookSignatureInvalidError('missing Stripe-Signature header', {
      scheme: 'stripe',
      reason: 'missing_header',
    });
  }
  let stamp: string | undefined;
  const given: Buffer[] = [];
  for (const part of value.split(',')) {
    const eq = part.indexOf('=');
    const key = part.slice(0, eq).trim();
    const item = part.slice(eq + 1).trim();
    if (key === 't') stamp = item;
    else if (key === 'v1' && /^[0-9a-f]{64}$/i.test(item)) given.push(Buffer.from(item, 'hex'));
  }
  if (given.length === 0) {
    throw new WebhookSignatureInvalidError('Stripe-Signature carries no v1 signature', {
      scheme: 'stripe',
      reason: 'malformed',
    });
  }
  const timestamp = checkTimestamp(stamp, options);
  const ok = secrets.some((secret) => {
    const digest = createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest();
    return given.some((candidate) => safeEqual(digest, candidate));
  });
  if (!ok) {
    throw new WebhookSignatureInvalidError('Stripe-Signature does not match', {
      scheme: 'stripe',
      reason: 'mismatch',
    });
  }
  return timestamp;
}
