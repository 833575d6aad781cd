import { randomBytes } from 'node:crypto';
import { InvalidArgumentError } from '@eventfabric/core';

/** The prefix of a Standard Webhooks secret: `whsec_` and the base64 key. */
export const SECRET_PREFIX = 'whsec_';

/** A new Standard Webhooks secret: `whsec_` and 32 random bytes in base64. */
export function generateSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString('base64');
}

/**
 * The HMAC key of a Standard Webhooks secret (`whsec_<base64>`; the prefix may be left off,
 * as the spec's libraries allow).
 * @throws InvalidArgumentError for a secret that is not base64 or holds fewer than 24 bytes
 */
export function secretKey(secret: string): Buffer {
  if (typeof secret !== 'string') throw new InvalidArgumentError('a secret must be a string');
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded) || encoded.length % 4 !== 0) {
    throw new InvalidArgumentError('a webhook secret must be whsec_ followed by base64', {
      field: 'secret',
    });
  }
  const key = Buffer.from(encoded, 'base64');
  // The spec asks for 24 to 64 bytes of key.
  if (key.length < 24 || key.length > 64) {
    throw new InvalidArgumentError('a webhook secret must hold 24 to 64 bytes of key', {
      field: 'secret',
      bytes: key.length,
    });
  }
  return key;
}
