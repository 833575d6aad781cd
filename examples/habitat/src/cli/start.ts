import type { RedriveResult } from '@eventfabric/core';
import { createLogger, createServer, type EventFabricServer } from '@eventfabric/server';
import { startHabitat, type Habitat } from '../app.js';
import type { Backend } from '../platform/backend.js';
import { openBackend, redact, type Location } from './locate.js';
import { seedDemo } from './seed.js';

/** Options for {@link startDemo}. */
export interface StartOptions {
  location: Location;
  port: number;
  host: string;
  /** @defaultValue true */
  seed?: boolean;
  /** @defaultValue 'warn' */
  logLevel?: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'silent';
}

/** What `habitat start` runs. */
export interface RunningDemo {
  url: string;
  server: EventFabricServer;
  habitat: Habitat;
  backend: Backend;
  seeded: number;
  close(): Promise<void>;
}

/**
 * The EventFabric server (every `/v1` route, probes and metrics) with Habitat's GraphQL API
 * mounted on the same Fastify instance, its handlers' dead letters, replays and projections
 * behind the server's operations routes, and the demo cooperative seeded.
 */
export async function startDemo(options: StartOptions): Promise<RunningDemo> {
  // The server's routes take any application's events, as `eventfabric serve` does;
  // Habitat's own types are validated against their schemas.
  const backend = await openBackend(options.location, { unknownTypes: 'allow' });
  try {
    const logger = createLogger({ level: options.logLevel ?? 'warn' });
    const habitat = await startHabitat({ backend, logger });
    const byHandler = new Map(
      habitat.handlers.map((h) => [
        h.handler.name,
        habitat.consumers.find((c) => c.groups.some((g) => g.endsWith(`.${h.handler.name}`)))!,
      ]),
    );
    const server = await createServer({
      store: backend.store,
      schemas: backend.schemas,
      deadLetters: backend.deadLetters,
      redrive: async (filter) => {
        const consumers =
          filter.handler === undefined
            ? habitat.consumers
            : [byHandler.get(filter.handler)].filter((c) => c !== undefined);
        const result: RedriveResult = { redriven: [], failed: [], heldBack: [] };
        for (const consumer of consumers) {
          const one = await consumer.redrive(filter);
          result.redriven.push(...one.redriven);
          result.failed.push(...one.failed);
          result.heldBack.push(...one.heldBack);
        }
        return result;
      },
      replays: {
        handlers: habitat.handlers.map((h) => h.handler),
        processed: backend.processed,
        service: 'habitat',
        schemas: backend.schemas,
      },
      projections: {
        projections: habitat.projections,
        storage: backend.projectionStorage,
      },
      logger,
    });
    await habitat.mount(server.app);
    const url = await server.listen({ port: options.port, host: options.host });
    const seeded = options.seed === false ? 0 : await seedDemo(server.app, habitat);
    let closed: Promise<void> | undefined;
    return {
      url,
      server,
      habitat,
      backend,
      seeded,
      close: () =>
        (closed ??= (async () => {
          await server.close();
          await habitat.stop();
          await backend.close();
        })()),
    };
  } catch (error) {
    await backend.close();
    throw error;
  }
}

/** The lines `npm start` prints. */
export function banner(demo: RunningDemo, location: Location): string {
  const u = demo.url;
  return [
    `EventFabric server with Habitat on ${redact(location.store)} (transport: ${redact(location.transport)})`,
    demo.seeded > 0
      ? `seeded the demo cooperative (${demo.seeded} mutations)`
      : 'demo cooperative already seeded',
    '',
    `  ${u}/graphiql      Habitat's GraphQL API in GraphiQL (endpoint ${u}/graphql)`,
    `  ${u}/v1/events     the event log: publish (POST), query (GET); ${u}/v1/subscribe for SSE`,
    `  ${u}/v1/schemas    Habitat's event schemas`,
    `  ${u}/v1/dlq        dead letters; /v1/replays, /v1/projections`,
    `  ${u}/healthz  ${u}/readyz  ${u}/metrics`,
    '',
    'Ctrl-C stops it gracefully.',
  ].join('\n');
}
