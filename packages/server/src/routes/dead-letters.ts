import type { FastifyInstance } from 'fastify';
import {
  DeadLetterNotFoundError,
  InvalidArgumentError,
  MalformedBodyError,
  type DeadLetter,
  type DeadLetterFilter,
  type DeadLetterReason,
  type DeadLetterStore,
} from '@eventfabric/core';
import { assertKnownParams, limitParam, single, type Query } from '../http/query.js';
import { assertAdmin, type Principal } from '../auth/principal.js';
import type { RouteContext } from '../route-context.js';

const REASONS: readonly DeadLetterReason[] = ['exhausted', 'non_retryable', 'poison'];
const LIST_PARAMS = ['handler', 'type', 'reason', 'limit'] as const;
/** As many dead letters as one retry or purge takes. */
const SELECTION_LIMIT = 100_000;

/** Which dead letters a retry or purge acts on: ids and/or filters (AND-ed), or `all`. */
interface Selection {
  ids?: string[];
  handler?: string;
  type?: string;
  reason?: DeadLetterReason;
  all?: boolean;
}

/**
 * The dead letters: `GET /v1/dlq` lists them oldest first (filters `handler`, `type`,
 * `reason`), `GET /v1/dlq/:id` shows one, `POST /v1/dlq/retry` re-runs a selection through
 * its handlers (when the server has them), `POST /v1/dlq/purge` and `DELETE /v1/dlq/:id`
 * remove them. Every route needs the admin scope, and a key sees only its tenant's dead
 * letters (those whose event carries its `tenantid`).
 */
export function registerDeadLetterRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const deadLetters = ctx.deadLetters;
  if (deadLetters === undefined) return;
  app.addHook('onRequest', async (request) => {
    // The matched route, never the raw URL, which may spell the path percent-encoded.
    if (request.routeOptions.url?.startsWith('/v1/dlq') === true) assertAdmin(request.principal);
  });

  app.get<{ Querystring: Query }>('/v1/dlq', async (request) => {
    const query = request.query;
    assertKnownParams(query, LIST_PARAMS);
    const filter = {
      handler: single(query, 'handler'),
      type: single(query, 'type'),
      reason: reasonOf(single(query, 'reason')),
    };
    const limit = limitParam(query, 100, ctx.limits.maxPageSize);
    const tenant = request.principal.tenant;
    if (tenant === undefined) {
      const entries = await deadLetters.list({ ...filter, limit });
      return { deadLetters: entries, total: await deadLetters.count(filter) };
    }
    const own = (await deadLetters.list({ ...filter, limit: SELECTION_LIMIT })).filter(
      (entry) => entry.event.tenantid === tenant,
    );
    return { deadLetters: own.slice(0, limit), total: own.length };
  });

  app.get<{ Params: { id: string } }>('/v1/dlq/:id', async (request) =>
    visibleEntry(deadLetters, request.principal, request.params.id),
  );

  app.delete<{ Params: { id: string } }>('/v1/dlq/:id', async (request, reply) => {
    await visibleEntry(deadLetters, request.principal, request.params.id);
    await deadLetters.remove([request.params.id]);
    return reply.code(204).send();
  });

  app.post('/v1/dlq/purge', async (request) => {
    const selection = selectionOf(request.body, true);
    const selected = await select(deadLetters, request.principal, selection);
    return { removed: selected.length === 0 ? 0 : await deadLetters.remove(selected) };
  });

  const redrive = ctx.redrive;
  if (redrive === undefined) return;
  app.post('/v1/dlq/retry', async (request) => {
    const selection = selectionOf(request.body, false);
    // The selection is resolved here, so a key re-drives only its tenant's dead letters.
    const ids = await select(deadLetters, request.principal, selection);
    if (ids.length === 0) return { redriven: [], failed: [], heldBack: [] };
    return redrive({ ids });
  });
}

/** A dead letter the principal may see; another tenant's reads as not found. */
async function visibleEntry(
  deadLetters: DeadLetterStore,
  principal: Principal,
  id: string,
): Promise<DeadLetter> {
  const entry = await deadLetters.get(id);
  if (principal.tenant !== undefined && entry.event.tenantid !== principal.tenant) {
    throw new DeadLetterNotFoundError(id);
  }
  return entry;
}

/**
 * The ids a selection names, among those the principal may see; each given id must exist
 * and be visible (DEAD_LETTER_NOT_FOUND otherwise).
 */
async function select(
  deadLetters: DeadLetterStore,
  principal: Principal,
  selection: Selection,
): Promise<string[]> {
  for (const id of selection.ids ?? []) await visibleEntry(deadLetters, principal, id);
  const filter: DeadLetterFilter = {
    ids: selection.ids && selection.ids.length > 0 ? selection.ids : undefined,
    handler: selection.handler,
    type: selection.type,
    reason: selection.reason,
    limit: SELECTION_LIMIT,
  };
  return (await deadLetters.list(filter))
    .filter((entry) => principal.tenant === undefined || entry.event.tenantid === principal.tenant)
    .map((entry) => entry.id);
}

function selectionOf(body: unknown, withReason: boolean): Selection {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new MalformedBodyError('the body must be a JSON object: { ids, handler, type, all }');
  }
  const known = withReason
    ? ['ids', 'handler', 'type', 'reason', 'all']
    : ['ids', 'handler', 'type', 'all'];
  const raw = body as Record<string, unknown>;
  for (const key of Object.keys(raw)) {
    if (!known.includes(key)) {
      throw new InvalidArgumentError(`unknown field "${key}"; expected ${known.join(', ')}`, {
        field: key,
      });
    }
  }
  const ids = raw.ids;
  if (
    ids !== undefined &&
    (!Array.isArray(ids) || ids.some((id) => typeof id !== 'string' || id === ''))
  ) {
    throw new InvalidArgumentError('ids must be an array of dead-letter ids', { field: 'ids' });
  }
  for (const field of ['handler', 'type'] as const) {
    const value = raw[field];
    if (value !== undefined && (typeof value !== 'string' || value === '')) {
      throw new InvalidArgumentError(`${field} must be a non-empty string`, { field });
    }
  }
  if (raw.all !== undefined && typeof raw.all !== 'boolean') {
    throw new InvalidArgumentError('all must be true or false', { field: 'all' });
  }
  const selection: Selection = {
    ids: ids as string[] | undefined,
    handler: raw.handler as string | undefined,
    type: raw.type as string | undefined,
    reason: reasonOf(raw.reason),
    all: raw.all as boolean | undefined,
  };
  const narrowed =
    (selection.ids?.length ?? 0) > 0 ||
    selection.handler !== undefined ||
    selection.type !== undefined ||
    selection.reason !== undefined;
  if (selection.all === true && narrowed) {
    throw new InvalidArgumentError(
      'all takes every dead letter; do not combine it with ids or filters',
    );
  }
  if (selection.all !== true && !narrowed) {
    throw new InvalidArgumentError(
      'name the dead letters: ids, filters (handler, type, reason) or all: true',
    );
  }
  return selection;
}

function reasonOf(value: unknown): DeadLetterReason | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !(REASONS as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`reason must be one of ${REASONS.join(', ')}`, {
      field: 'reason',
      value: value as unknown,
    });
  }
  return value as DeadLetterReason;
}
