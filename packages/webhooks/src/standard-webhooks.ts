import { createHmac, timingSafeEqual } from 'node:crypto';
import { WebhookSignatureInvalidError, WebhookTimestampInvalidError } from '@eventfabric/core';
import { secretKey } from './secrets.js';

/** The three Standard Webhooks headers of one delivery. */
export interface StandardWebhookHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

/** What to sign: the message id, the time (seconds since the epoch) and the exact body. */
export interface SignInput {
  id: string;
  /** Seconds since the epoch. */
  timestamp: number;
  body: string | Buffer;
}

/** The `v1,<base64>` signature of one message under one secret. */
export function signatureOf(secret: string, input: SignInput): string {
  const hmac = createHmac('sha256', secretKey(secret));
  hmac.update(`${input.id}.${input.timestamp}.`);
  hmac.update(input.body);
  return `v1,${hmac.digest('base64')}`;
}

/**
 * The headers of a delivery signed with every secret given: during a rotation's overlap both
 * the new and the old secret sign, space-separated, so a receiver holding either verifies.
 */
export function signStandardWebhook(
  secrets: readonly string[],
  input: SignInput,
): StandardWebhookHeaders {
  if (secrets.length === 0) throw new RangeError('signing needs at least one secret');
  return {
    'webhook-id': input.id,
    'webhook-timestamp': String(input.timestamp),
    'webhook-signature': secrets.map((secret) => signatureOf(secret, input)).join(' '),
  };
}

/** Options for {@link verifyStandardWebhook}. */
export interface VerifyOptions {
  /** Largest distance between the timestamp and now, in seconds. @defaultValue 300 */
  toleranceSeconds?: number;
  /** Now, in ms since the epoch. @defaultValue Date.now() */
  now?: number;
}

/** Header lookup that ignores case, over Node's lower-cased headers or a plain object. */
export type HeaderBag = Record<string, string | string[] | undefined>;

export function header(headers: HeaderBag, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== lower) continue;
    return Array.isArray(value) ? value[0] : value;
  }
  return undefined;
}

/**
 * Verify a Standard Webhooks message against any of `secrets`: the timestamp must be within
 * the tolerance, and one `v1` signature must match one secret (compared in constant time).
 * @returns the message id and timestamp
 * @throws WebhookTimestampInvalidError, WebhookSignatureInvalidError
 */
export function verifyStandardWebhook(
  secrets: readonly string[],
  headers: HeaderBag,
  body: string | Buffer,
  options: VerifyOptions = {},
): { id: string; timestamp: number } {
  const id = header(headers, 'webhook-id');
  const stamp = header(headers, 'webhook-timestamp');
  const signatures = header(headers, 'webhook-signature');
  if (id === undefined || id === '' || signatures === undefined || signatures === '') {
    throw new WebhookSignatureInvalidError('missing webhook-id or webhook-signature header', {
      scheme: 'standard',
      reason: 'missing_header',
    });
  }
  const timestamp = checkTimestamp(stamp, options);
  const expected = secrets.map((secret) =>
    Buffer.from(signatureOf(secret, { id, timestamp, body }).slice(3), 'base64'),
  );
  for (const candidate of signatures.split(' ')) {
    const comma = candidate.indexOf(',');
    if (comma < 0 || candidate.slice(0, comma) !== 'v1') continue;
    const given = Buffer.from(candidate.slice(comma + 1), 'base64');
    if (expected.some((digest) => safeEqual(digest, given))) return { id, timestamp };
  }
  throw new WebhookSignatureInvalidError('no webhook signature matches', {
    scheme: 'standard',
    reason: 'mismatch',
  });
}

/**
 * A timestamp header (seconds since the epoch) within `toleranceSeconds` of now.
 * @throws WebhookTimestampInvalidError
 */
export function checkTimestamp(stamp: string | undefined, options: VerifyOptions): number {
  const tolerance = options.toleranceSeconds ?? 300;
  const now = Math.floor((options.now ?? Date.now()) / 1000);
  if (stamp === undefined || !/^[0-9]{1,12}$/.test(stamp)) {
    throw new WebhookTimestampInvalidError('missing or malformed webhook timestamp', {
      timestamp: stamp ?? null,
      toleranceSeconds: tolerance,
    });
  }
  const timestamp = Number(stamp);
  if (Math.abs(now - timestamp) > tolerance) {
    throw new WebhookTimestampInvalidError(
      `webhook timestamp ${timestamp} is more than ${tolerance} s from now`,
      { timestamp, toleranceSeconds: tolerance },
    );
  }
  return timestamp;
}

/** Constant-time equality; lengths are not secret (every digest has the same length). */
export function safeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
