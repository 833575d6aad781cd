import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import {
  InvalidArgumentError,
  MalformedBodyError,
  compileTopicPattern,
  parseReplayBound,
  replayRangeIsEmpty,
  type ReplayBound,
} from '@eventfabric/core';
import { assertAdmin } from '../auth/principal.js';
import { assertKnownParams, single, type Query } from '../http/query.js';
import { ReplayRuns, type ReplayRequest } from '../operations/replay-runs.js';
import type { RouteContext } from '../route-context.js';

const FIELDS = ['handler', 'from', 'to', 'types', 'stream', 'correlationId', 'dryRun'] as const;

/**
 * Replays: `POST /v1/replays` starts re-running one handler over the log (core's `replay()`,
 * with `eventfabric replay`'s filters and dry run) and answers 202 at once; `GET /v1/replays`
 * and `GET /v1/replays/:id` show each run's status and progress. Every route needs the admin
 * scope; a key replays only its tenant's events and sees only its tenant's runs.
 * @returns the runs, which the server stops when it closes; undefined without handlers
 */
export function registerReplayRoutes(
  app: FastifyInstance,
  ctx: RouteContext,
  logger: Logger,
): ReplayRuns | undefined {
  const setup = ctx.replays;
  if (setup === undefined) return undefined;
  const runs = new ReplayRuns(setup, ctx.store, logger);
  app.addHook('onRequest', async (request) => {
    if (request.routeOptions.url?.startsWith('/v1/replays') === true) {
      assertAdmin(request.principal);
    }
  });

  app.post('/v1/replays', async (request, reply) => {
    const { replayRequest, bounds } = parseReplayRequest(request.body, runs);
    const run = runs.start(replayRequest, bounds, request.principal.tenant);
    return reply.code(202).header('location', `/v1/replays/${run.id}`).send(run);
  });

  app.get<{ Querystring: Query }>('/v1/replays', async (request) => {
    assertKnownParams(request.query, ['handler']);
    const handler = single(request.query, 'handler');
    const all = runs.list(request.principal.tenant);
    return { replays: handler === undefined ? all : all.filter((r) => r.handler === handler) };
  });

  app.get<{ Params: { id: string } }>('/v1/replays/:id', async (request) =>
    runs.get(request.params.id, request.principal.tenant),
  );
  return runs;
}

/**
 * The body of `POST /v1/replays`, checked whole before anything starts.
 * @throws MalformedBodyError, InvalidArgumentError naming the field
 */
function parseReplayRequest(
  body: unknown,
  runs: ReplayRuns,
): { replayRequest: ReplayRequest; bounds: { from?: ReplayBound; to?: ReplayBound } } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new MalformedBodyError(
      `the body must be a JSON object: { ${FIELDS.join(', ')} }, with handler required`,
    );
  }
  const raw = body as Record<string, unknown>;
  for (const key of Object.keys(raw)) {
    if (!(FIELDS as readonly string[]).includes(key)) {
      throw new InvalidArgumentError(`unknown field "${key}"; expected ${FIELDS.join(', ')}`, {
        field: key,
      });
    }
  }
  const handler = text(raw, 'handler');
  if (handler === undefined) {
    throw new InvalidArgumentError('handler is required: the handler to replay', {
      field: 'handler',
      handlers: runs.handlerNames(),
    });
  }
  if (!runs.hasHandler(handler)) {
    throw new InvalidArgumentError(
      `no handler named "${handler}" (configured: ${runs.handlerNames().join(', ')})`,
      { field: 'handler', handler, handlers: runs.handlerNames() },
    );
  }
  const bound = (field: 'from' | 'to'): ReplayBound | undefined => {
    const value = text(raw, field);
    if (value === undefined) return undefined;
    try {
      return parseReplayBound(value);
    } catch (error) {
      throw new InvalidArgumentError(`${field}: ${(error as Error).message}`, {
        field,
        value,
      });
    }
  };
  const from = bound('from');
  const to = bound('to');
  if (replayRangeIsEmpty(from, to)) {
    throw new InvalidArgumentError('from is after to: the range is empty', { field: 'from' });
  }
  const types = raw.types;
  if (
    types !== undefined &&
    (!Array.isArray(types) ||
      types.length === 0 ||
      types.some((t) => typeof t !== 'string' || t === ''))
  ) {
    throw new InvalidArgumentError('types must be a non-empty array of type patterns', {
      field: 'types',
    });
  }
  for (const pattern of (types as string[] | undefined) ?? []) {
    try {
      compileTopicPattern(pattern);
    } catch (error) {
      throw new InvalidArgumentError(`types: ${(error as Error).message}`, {
        field: 'types',
        pattern,
      });
    }
  }
  if (raw.dryRun !== undefined && typeof raw.dryRun !== 'boolean') {
    throw new InvalidArgumentError('dryRun must be true or false', { field: 'dryRun' });
  }
  return {
    replayRequest: {
      handler,
      from: text(raw, 'from') ?? null,
      to: text(raw, 'to') ?? null,
      types: (types as string[] | undefined) ?? null,
      stream: text(raw, 'stream') ?? null,
      correlationId: text(raw, 'correlationId') ?? null,
      dryRun: raw.dryRun === true,
    },
    bounds: { from, to },
  };
}

/** An optional non-empty string field. */
function text(raw: Record<string, unknown>, field: string): string | undefined {
  const value = raw[field];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') {
    throw new InvalidArgumentError(`${field} must be a non-empty string`, { field });
  }
  return value;
}
