import type { FastifyInstance } from 'fastify';
import mercurius from 'mercurius';
import {
  createConsumer,
  startProjections,
  startSagas,
  type CompiledProjection,
  type Consumer,
  type EventHandler,
  type Logger,
  type ProjectionDaemon,
  type SagaDaemon,
} from '@eventfabric/core';
import { agreements } from './agreements/index.js';
import { habitatGraphql } from './graphql/schema.js';
import { people } from './people/index.js';
import type { Backend } from './platform/backend.js';
import type {
  BoundedContext,
  ContextDeps,
  Faults,
  HandlerSpec,
  Observer,
} from './platform/context.js';
import { EventPublisher } from './platform/event-publisher.js';
import { Settlement } from './platform/settle.js';
import { allocationSaga } from './treasury/saga.js';
import { treasury } from './treasury/index.js';

/** The three bounded contexts, in the order their tables are created. */
export const CONTEXTS: readonly BoundedContext[] = [people, agreements, treasury];

/** Options for {@link startHabitat}. */
export interface HabitatOptions {
  backend: Backend;
  /** Prefix of the consumer groups (queue names on RabbitMQ). @defaultValue none */
  servicePrefix?: string;
  /** How long an allocation step waits for its reply. @defaultValue 30 000 */
  stepTimeoutMs?: number;
  /** Failures to inject into the allocation handlers (tests). @defaultValue none */
  faults?: Faults;
  /** @defaultValue silent */
  logger?: Logger;
  /** Hooks for instrumentation (the SLA benchmark). @defaultValue none */
  observer?: Observer;
  /**
   * `read-models` runs the projections only: no handlers, relay or saga. A replica built
   * from a copied log must not react to it again. @defaultValue 'full'
   */
  mode?: 'full' | 'read-models';
}

/** A running Habitat: its GraphQL API, and the processes behind it. */
export interface Habitat {
  readonly backend: Backend;
  readonly publisher: EventPublisher;
  /** The GraphQL schema (SDL) and resolvers, for mercurius or any GraphQL server. */
  readonly graphql: { schema: string; resolvers: Record<string, unknown> };
  readonly handlers: readonly (HandlerSpec & { context: string })[];
  readonly projections: readonly CompiledProjection<unknown>[];
  readonly consumers: readonly Consumer[];
  readonly sagas: SagaDaemon;
  readonly projectionDaemon: ProjectionDaemon;
  /** Register `/graphql` (and GraphiQL at `/graphiql`) on a Fastify instance. */
  mount(app: FastifyInstance): Promise<void>;
  /** Resolves once handlers, projections and sagas have handled the whole log. */
  settled(timeoutMs?: number): Promise<string>;
  /** Stop the consumers, the relay, the sagas and the projections (the backend stays open). */
  stop(): Promise<void>;
}

/**
 * Start Habitat on a backend: create the contexts' tables, build the read models, start each
 * context's consumer (its handlers), the outbox relay where the transport is a broker, and
 * the allocation saga.
 */
export async function startHabitat(options: HabitatOptions): Promise<Habitat> {
  const { backend } = options;
  for (const context of CONTEXTS) {
    for (const ddl of context.tables(backend.sql)) await backend.sql.run(ddl);
  }
  const observer = options.observer ?? {};
  const publisher = new EventPublisher(backend, observer);
  const deps: ContextDeps = {
    observer,
    backend,
    publisher,
    faults: options.faults ?? {},
    stepTimeoutMs: options.stepTimeoutMs ?? 30_000,
  };
  const projections = CONTEXTS.flatMap((c) => c.projections(deps));
  const projectionDaemon = await startProjections({
    store: backend.store,
    storage: backend.projectionStorage,
    projections,
    ...(options.logger ? { logger: options.logger } : {}),
  });
  for (const projection of projections) await projectionDaemon.whenLive(projection.name);

  const full = options.mode !== 'read-models';
  const handlers = full
    ? CONTEXTS.flatMap((c) => c.handlers(deps).map((h) => ({ ...h, context: c.name })))
    : [];
  const transport = full ? await backend.transport() : undefined;
  const consumers = CONTEXTS.filter(() => transport !== undefined).map((context) =>
    createConsumer({
      service: `${options.servicePrefix ?? ''}${context.name}`,
      transport: transport!,
      handlers: handlers
        .filter((h) => h.context === context.name)
        .map((h) => h.handler as EventHandler),
      processed: backend.processed,
      deadLetters: backend.deadLetters,
      schemas: backend.schemas,
      store: backend.store,
      source: context.source,
      ...(options.logger ? { logger: options.logger } : {}),
    }),
  );
  for (const consumer of consumers) await consumer.start();
  const relay = transport
    ? await backend.startRelay(transport, [...new Set(handlers.flatMap((h) => h.handler.on))])
    : { stop: async () => undefined };
  const sagas = await startSagas({
    store: backend.store,
    storage: backend.sagaStorage,
    sagas: full ? [allocationSaga(deps.stepTimeoutMs)] : [],
    timeoutPollMs: 200,
    ...(options.logger ? { logger: options.logger } : {}),
  });
  const settlement = new Settlement(
    backend.store,
    backend.processed,
    handlers.map((h) => h.handler as EventHandler),
    projections,
    projectionDaemon,
    sagas,
  );
  const graphql = habitatGraphql(
    CONTEXTS,
    deps,
    () => settlement.readModelsPosition(),
    options.logger,
  );
  let stopped: Promise<void> | undefined;
  return {
    backend,
    publisher,
    graphql,
    handlers,
    projections,
    consumers,
    sagas,
    projectionDaemon,
    mount: async (app) => {
      await app.register(mercurius, {
        schema: graphql.schema,
        resolvers: graphql.resolvers as never,
        path: '/graphql',
        graphiql: true,
      });
    },
    settled: (timeoutMs) => settlement.settled(timeoutMs),
    stop: () =>
      (stopped ??= (async () => {
        await relay.stop();
        for (const consumer of consumers) await consumer.stop({ deadlineMs: 5000 });
        await sagas.stop();
        await projectionDaemon.stop();
      })()),
  };
}
