import type { FastifyRequest } from 'fastify';
import {
  ForbiddenError,
  UnauthenticatedError,
  compileTopics,
  type StoredEvent,
} from '@eventfabric/core';
import type { ServerEventStore } from '../server-options.js';
import { parseScope, type ApiKeyRecord, type ApiKeyStore } from './api-keys.js';

/** Who a request acts as: an API key's tenant and scopes, or anyone (open mode). */
export interface Principal {
  /** The key's tenant; undefined in open mode, where every event is visible. */
  readonly tenant: string | undefined;
  readonly keyId: string | undefined;
  readonly admin: boolean;
  /** True when some `read:` scope exists (or in open mode). */
  readonly reads: boolean;
  canPublish(type: string): boolean;
  canRead(type: string): boolean;
}

/** The principal of a server without API keys: everything is allowed. */
export const OPEN_PRINCIPAL: Principal = Object.freeze({
  tenant: undefined,
  keyId: undefined,
  admin: true,
  reads: true,
  canPublish: () => true,
  canRead: () => true,
});

/** The principal of a key. */
export function principalOf(record: ApiKeyRecord): Principal {
  const scopes = record.scopes.map(parseScope);
  const patterns = (kind: 'publish' | 'read') =>
    scopes.flatMap((s) => (s.kind === kind ? [s.pattern] : []));
  const publish = patterns('publish');
  const read = patterns('read');
  const never = () => false;
  return {
    tenant: record.tenant,
    keyId: record.id,
    admin: scopes.some((s) => s.kind === 'admin'),
    reads: read.length > 0,
    canPublish: publish.length > 0 ? compileTopics(publish) : never,
    canRead: read.length > 0 ? compileTopics(read) : never,
  };
}

/**
 * The principal of a request: from its `Authorization: Bearer <key>` header when the server
 * has keys, else {@link OPEN_PRINCIPAL}.
 * @throws UnauthenticatedError for a missing, malformed, unknown or revoked key
 */
export async function authenticate(
  request: FastifyRequest,
  keys: ApiKeyStore | undefined,
): Promise<Principal> {
  if (keys === undefined) return OPEN_PRINCIPAL;
  const header = request.headers.authorization;
  if (header === undefined) {
    throw new UnauthenticatedError('this server needs an API key: Authorization: Bearer <key>', {
      reason: 'missing',
    });
  }
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (match === null) {
    throw new UnauthenticatedError('the Authorization header must be "Bearer <key>"', {
      reason: 'malformed',
    });
  }
  const record = await keys.find(match[1]!);
  if (record === undefined) {
    throw new UnauthenticatedError('unknown or revoked API key', { reason: 'unknown' });
  }
  return principalOf(record);
}

/** @throws ForbiddenError unless the key has the `admin` scope */
export function assertAdmin(principal: Principal): void {
  if (!principal.admin) {
    throw new ForbiddenError('this needs an API key with the admin scope', { scope: 'admin' });
  }
}

/** @throws ForbiddenError unless the key has some `read:` scope */
export function assertReads(principal: Principal): void {
  if (!principal.reads) {
    throw new ForbiddenError('this needs an API key with a read:<type-pattern> scope', {
      scope: 'read',
    });
  }
}

/** True when the principal may see the event: its tenant's, and of a readable type. */
export function canSee(principal: Principal, event: StoredEvent): boolean {
  if (principal.tenant === undefined) return true;
  return event.tenantid === principal.tenant && principal.canRead(event.type);
}

/**
 * Before anything is stored: every event's type must be publishable by the key, and its
 * `tenantid`, when set, must be the key's tenant; events without one get it.
 * @throws ForbiddenError naming the first event that fails
 */
export function claimForTenant(principal: Principal, events: Record<string, unknown>[]): void {
  for (const event of events) {
    const type = event.type;
    if (typeof type === 'string' && !principal.canPublish(type)) {
      throw new ForbiddenError(`this API key may not publish ${type}`, { scope: 'publish', type });
    }
    if (principal.tenant === undefined) continue;
    if (event.tenantid !== undefined && event.tenantid !== principal.tenant) {
      throw new ForbiddenError("an event's tenantid must be the API key's tenant", {
        tenant: principal.tenant,
        eventTenant: event.tenantid,
      });
    }
    event.tenantid = principal.tenant;
  }
}

/**
 * A stream belongs to the tenant of its first event: refuse writes into another tenant's
 * streams. One read per distinct stream, run together. (A stream two tenants create at the
 * same instant can still get both; see docs/server.md.)
 * @throws ForbiddenError for a stream of another tenant
 */
export async function assertStreamsOwned(
  store: ServerEventStore,
  principal: Principal,
  streamIds: Iterable<string>,
): Promise<void> {
  const tenant = principal.tenant;
  if (tenant === undefined) return;
  const firsts = await Promise.all(
    [...new Set(streamIds)].map(async (streamId) => ({
      streamId,
      first: (await store.readStream(streamId, { limit: 1, raw: true }))[0],
    })),
  );
  for (const { streamId, first } of firsts) {
    if (first !== undefined && first.tenantid !== tenant) {
      throw new ForbiddenError(`stream ${streamId} belongs to another tenant`, { streamId });
    }
  }
}
