import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type EventFabricServer } from '@eventfabric/server';
import {
  openEmbeddedBackend,
  startHabitat,
  type Backend,
  type Habitat,
  type HabitatOptions,
} from '@eventfabric/habitat';

export interface GraphqlResult<T = Record<string, unknown>> {
  data: T | null;
  errors?: { message: string; extensions?: { code?: string; details?: Record<string, unknown> } }[];
}

/** Habitat mounted on the EventFabric server, answering GraphQL through `inject`. */
export interface Running {
  habitat: Habitat;
  backend: Backend;
  server: EventFabricServer;
  gql<T = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
  ): Promise<GraphqlResult<T>>;
  /** `gql`, failing the test on any GraphQL error. */
  ok<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>): Promise<T>;
  stop(): Promise<void>;
}

export async function mountHabitat(
  backend: Backend,
  options: Omit<HabitatOptions, 'backend'> = {},
): Promise<Running> {
  const habitat = await startHabitat({ backend, ...options });
  const server = await createServer({ store: backend.store, schemas: backend.schemas });
  await habitat.mount(server.app);
  const gql = async <T>(query: string, variables: Record<string, unknown> = {}) => {
    const response = await server.app.inject({
      method: 'POST',
      url: '/graphql',
      payload: { query, variables },
    });
    return response.json() as GraphqlResult<T>;
  };
  return {
    habitat,
    backend,
    server,
    gql,
    ok: async <T>(query: string, variables?: Record<string, unknown>) => {
      const result = await gql<T>(query, variables);
      if (result.errors !== undefined) {
        throw new Error(`GraphQL errors: ${JSON.stringify(result.errors)}`);
      }
      return result.data as T;
    },
    stop: async () => {
      await server.close();
      await habitat.stop();
    },
  };
}

/** A temporary directory, removed by the returned function. */
export function temporaryDirectory(): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'habitat-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function embedded(
  dir: string,
  file = 'habitat.db',
  options: Omit<HabitatOptions, 'backend'> = {},
): Promise<Running> {
  const backend = await openEmbeddedBackend({ path: join(dir, file) });
  const running = await mountHabitat(backend, options);
  return {
    ...running,
    stop: async () => {
      await running.stop();
      await backend.close();
    },
  };
}
