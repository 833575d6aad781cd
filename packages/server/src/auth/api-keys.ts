import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { InvalidArgumentError, compileTopicPattern } from '@eventfabric/core';

/** An API key as stored: never the secret, only its SHA-256. */
export interface ApiKeyRecord {
  /** Public id, part of the secret: `ef_<id>_<random>`. */
  id: string;
  /** The tenant every request made with the key acts as. */
  tenant: string;
  /** `publish:<type-pattern>`, `read:<type-pattern>` or `admin`. */
  scopes: string[];
  name?: string;
  /** Hex SHA-256 of the whole secret. */
  hash: string;
  createdAt: string;
  revokedAt?: string;
}

/** A new key: its record, and the secret, which is shown once and never stored. */
export interface CreatedApiKey {
  record: ApiKeyRecord;
  secret: string;
}

/** Where API keys live. `eventfabric keys` writes it; the server reads it. */
export interface ApiKeyStore {
  /** Every key, revoked ones included, oldest first. */
  list(): Promise<ApiKeyRecord[]>;
  /** The live (not revoked) key whose secret this is, or undefined. */
  find(secret: string): Promise<ApiKeyRecord | undefined>;
}

const TENANT = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const SECRET = /^ef_([0-9a-f]{16})_[A-Za-z0-9_-]{43}$/;

/**
 * Make a new key: 32 random bytes, with the id in clear so a lookup needs no scan. The
 * random part carries 256 bits, so a plain SHA-256 is enough to store it (no slow hash).
 * @throws InvalidArgumentError for a bad tenant name or scope
 */
export function newApiKey(options: {
  tenant: string;
  scopes: readonly string[];
  name?: string;
}): CreatedApiKey {
  assertTenant(options.tenant);
  const scopes = [...new Set(options.scopes)];
  if (scopes.length === 0) throw new InvalidArgumentError('a key needs at least one scope');
  for (const scope of scopes) parseScope(scope);
  const id = randomBytes(8).toString('hex');
  const secret = `ef_${id}_${randomBytes(32).toString('base64url')}`;
  const record: ApiKeyRecord = {
    id,
    tenant: options.tenant,
    scopes,
    ...(options.name === undefined ? {} : { name: options.name }),
    hash: hashSecret(secret),
    createdAt: new Date().toISOString(),
  };
  return { record, secret };
}

/** The live key among `records` that `secret` belongs to, compared in constant time. */
export function matchSecret(
  records: readonly ApiKeyRecord[],
  secret: string,
): ApiKeyRecord | undefined {
  const id = SECRET.exec(secret)?.[1];
  if (id === undefined) return undefined;
  const record = records.find((r) => r.id === id);
  if (record === undefined || record.revokedAt !== undefined) return undefined;
  const expected = Buffer.from(record.hash, 'hex');
  const actual = Buffer.from(hashSecret(secret), 'hex');
  return expected.length === actual.length && timingSafeEqual(expected, actual)
    ? record
    : undefined;
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** A parsed scope. */
export type Scope = { kind: 'admin' } | { kind: 'publish' | 'read'; pattern: string };

/**
 * `admin`, `publish:<type-pattern>` or `read:<type-pattern>` (topic patterns: `shop.*`,
 * an exact type, `*`).
 * @throws InvalidArgumentError for anything else
 */
export function parseScope(scope: string): Scope {
  if (scope === 'admin') return { kind: 'admin' };
  const match = /^(publish|read):(.+)$/.exec(scope);
  if (match === null) {
    throw new InvalidArgumentError(
      `scope "${scope}" must be admin, publish:<type-pattern> or read:<type-pattern>`,
      { scope },
    );
  }
  compileTopicPattern(match[2]!);
  return { kind: match[1] as 'publish' | 'read', pattern: match[2]! };
}

/** @throws InvalidArgumentError unless a lower-case name of letters, digits, `_` and `-` */
export function assertTenant(tenant: unknown): asserts tenant is string {
  if (typeof tenant !== 'string' || !TENANT.test(tenant)) {
    throw new InvalidArgumentError(
      'a tenant is 1 to 63 lower-case letters, digits, _ or -, starting with a letter or digit',
      { tenant: tenant as never },
    );
  }
}
