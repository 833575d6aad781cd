import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import {
  EventFabricError,
  InvalidArgumentError,
  listProjections,
  projectionStatuses,
  rebuildProjection,
  selectProjections,
  type ProjectionVersionReport,
  type RebuildProjectionResult,
} from '@eventfabric/core';
import { assertAdmin, type Principal } from '../auth/principal.js';
import { assertKnownParams, type Query } from '../http/query.js';
import type { RouteContext } from '../route-context.js';

const HIDDEN_ERROR =
  "hidden from API keys: projections read every tenant's events; see the server log or eventfabric projections status";

/** A rebuild this server started, as `GET /v1/projections/:name` shows it. */
export interface ProjectionRebuild {
  version: number;
  status: 'building' | 'live' | 'failed' | 'stopped';
  startedAt: string;
  finishedAt: string | null;
  result: RebuildProjectionResult | null;
  error: { code: string; message: string } | null;
}

/** What the server does with its rebuilds when it closes. */
export interface ProjectionRebuilds {
  /** Stop every rebuild in progress (the work done so far stays, and resumes next time). */
  stop(): Promise<void>;
}

/**
 * Projections: `GET /v1/projections` lists them (configured and live versions, tables),
 * `GET /v1/projections/:name` shows every stored version (live or building, position, lag,
 * last error) and this server's last rebuild, and `POST /v1/projections/:name/rebuild` builds
 * the configured version beside the live one and swaps it in (202 at once; 200 when it is
 * already live). The same code as `eventfabric projections list|status|rebuild`. Every route
 * needs the admin scope. A projection is built from every tenant's events, so it is shared
 * like the schema registry, and a key never sees a version's last error message.
 */
export function registerProjectionRoutes(
  app: FastifyInstance,
  ctx: RouteContext,
  logger: Logger,
): ProjectionRebuilds | undefined {
  const setup = ctx.projections;
  if (setup === undefined) return undefined;
  const { projections, storage } = setup;
  const store = ctx.store;
  const rebuilds = new Map<string, ProjectionRebuild>();
  const running = new Map<string, { abort: AbortController; done: Promise<void> }>();
  app.addHook('onRequest', async (request) => {
    if (request.routeOptions.url?.startsWith('/v1/projections') === true) {
      assertAdmin(request.principal);
    }
  });

  app.get<{ Querystring: Query }>('/v1/projections', async (request) => {
    assertKnownParams(request.query, []);
    return { projections: await listProjections(storage, projections) };
  });

  app.get<{ Params: { name: string }; Querystring: Query }>(
    '/v1/projections/:name',
    async (request) => {
      assertKnownParams(request.query, []);
      const [projection] = selectProjections(projections, request.params.name);
      const [listing] = await listProjections(storage, [projection!]);
      const versions = await projectionStatuses(store, storage, [projection!]);
      return {
        ...listing!,
        versions: versions.map((v) => visible(request.principal, v)),
        rebuild: rebuilds.get(projection!.name) ?? null,
      };
    },
  );

  app.post<{ Params: { name: string }; Querystring: Query }>(
    '/v1/projections/:name/rebuild',
    async (request, reply) => {
      assertKnownParams(request.query, []);
      const [projection] = selectProjections(projections, request.params.name);
      const body = request.body;
      if (
        body !== undefined &&
        body !== null &&
        (typeof body !== 'object' || Array.isArray(body) || Object.keys(body).length > 0)
      ) {
        throw new InvalidArgumentError('a rebuild takes no body (or {})', {
          projection: projection!.name,
        });
      }
      const { name, version } = projection!;
      const current = rebuilds.get(name);
      if (current?.status === 'building') return reply.code(202).send({ name, ...current });
      const state = await storage.state(name);
      if (state.live === version) {
        return { name, version, built: false, live: version };
      }
      const rebuild: ProjectionRebuild = {
        version,
        status: 'building',
        startedAt: new Date().toISOString(),
        finishedAt: null,
        result: null,
        error: null,
      };
      rebuilds.set(name, rebuild);
      const abort = new AbortController();
      const log = logger.child({ projection: name, version });
      log.info('projection rebuild started');
      const done = rebuildProjection({
        store,
        storage,
        projection: projection!,
        signal: abort.signal,
      }).then(
        (result) => {
          rebuild.status = 'live';
          rebuild.result = result;
          log.info({ position: result.position }, 'projection rebuilt and live');
        },
        (error: unknown) => {
          rebuild.status = abort.signal.aborted ? 'stopped' : 'failed';
          rebuild.error = {
            code: error instanceof EventFabricError ? error.code : 'INTERNAL',
            message: (error as Error).message ?? String(error),
          };
          log.error({ err: error }, `projection rebuild ${rebuild.status}`);
        },
      );
      const finished = done.finally(() => {
        rebuild.finishedAt = new Date().toISOString();
        running.delete(name);
      });
      running.set(name, { abort, done: finished });
      return reply
        .code(202)
        .header('location', `/v1/projections/${name}`)
        .send({ name, ...rebuild });
    },
  );

  return {
    async stop() {
      for (const { abort } of running.values()) abort.abort();
      await Promise.all([...running.values()].map((r) => r.done));
    },
  };
}

/**
 * A version's status as `principal` may see it. A last error's message can quote any event
 * of the failing batch, whichever tenant's, so a key (always a tenant's) sees only that
 * there is one, when and where: the message is in the server's log and `eventfabric
 * projections status`.
 */
function visible(principal: Principal, report: ProjectionVersionReport): ProjectionVersionReport {
  if (principal.tenant === undefined || report.lastError === null) return report;
  return { ...report, lastError: { ...report.lastError, message: HIDDEN_ERROR } };
}
