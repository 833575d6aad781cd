import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  COMPATIBILITY_MODES,
  InvalidArgumentError,
  MalformedBodyError,
  NotFoundError,
  type CompatibilityMode,
  type SchemaRegistry,
} from '@eventfabric/core';
import { assertKnownParams, single, type Query } from '../http/query.js';
import { assertAdmin } from '../auth/principal.js';
import type { RouteContext } from '../route-context.js';

type SchemaRequest = FastifyRequest<{ Params: { type: string }; Querystring: Query }>;

/**
 * The schema registry: `GET /v1/schemas` lists every version; `GET /v1/schemas/:type` gets
 * one (`a.b.c.v2`, or the latest of base `a.b.c`); `POST /v1/schemas/:type` registers a
 * JSON Schema as that version (201; 200 when it is already registered as is);
 * `POST /v1/schemas/:type/check` says whether it would register, registering nothing.
 */
export function registerSchemaRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const registry = ctx.schemas;
  if (registry === undefined) return;

  app.get<{ Querystring: Query }>('/v1/schemas', async (request) => {
    assertKnownParams(request.query, []);
    return { schemas: registry.list() };
  });

  app.get<{ Params: { type: string }; Querystring: Query }>(
    '/v1/schemas/:type',
    async (request) => {
      assertKnownParams(request.query, []);
      return findSchema(registry, request.params.type);
    },
  );

  app.post<{ Params: { type: string }; Querystring: Query }>(
    '/v1/schemas/:type',
    async (request, reply) => {
      assertAdmin(request.principal);
      const { schema, compatibility } = registration(request);
      const result = await registry.register(request.params.type, schema, { compatibility });
      return reply.code(result.created ? 201 : 200).send(result);
    },
  );

  app.post<{ Params: { type: string }; Querystring: Query }>(
    '/v1/schemas/:type/check',
    async (request) => {
      const { schema, compatibility } = registration(request);
      return registry.checkCompatibility(request.params.type, schema, { compatibility });
    },
  );
}

function findSchema(registry: SchemaRegistry, type: string) {
  const versioned = /\.v[1-9][0-9]*$/.test(type);
  const base = versioned ? undefined : type;
  const record =
    base === undefined
      ? registry.get(type)
      : registry.get(`${base}.v${registry.latestVersion(base) ?? 0}`);
  if (record === undefined) {
    throw new NotFoundError(`no schema registered for ${type}`, { resource: 'schema', type });
  }
  return record;
}

/** The body is the schema itself; the mode comes from `?compatibility=`. */
function registration(request: SchemaRequest): {
  schema: Record<string, unknown>;
  compatibility: CompatibilityMode | undefined;
} {
  assertKnownParams(request.query, ['compatibility']);
  const body = request.body;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new MalformedBodyError('the body must be a JSON Schema object', {
      got: body === null ? 'null' : Array.isArray(body) ? 'array' : typeof body,
    });
  }
  const mode = single(request.query, 'compatibility');
  if (mode !== undefined && !(COMPATIBILITY_MODES as readonly string[]).includes(mode)) {
    throw new InvalidArgumentError(
      `compatibility must be one of ${COMPATIBILITY_MODES.join(', ')}, got "${mode}"`,
      { parameter: 'compatibility', value: mode },
    );
  }
  return { schema: body as Record<string, unknown>, compatibility: mode as CompatibilityMode };
}
