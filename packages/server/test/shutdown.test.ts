import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createSqliteEventStore, type SqliteEventStore } from '@eventfabric/sqlite';
import { createServer, type ServerEventStore } from '../src/index.js';
import { orderEvent } from './server-harness.js';

describe('graceful shutdown (real HTTP)', () => {
  let dir: string;
  let store: SqliteEventStore;
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('given a publish in flight, when the server closes, then new connections are refused, the publish completes and close waits for it', async () => {
    dir = mkdtempSync(join(tmpdir(), 'eventfabric-shutdown-'));
    store = createSqliteEventStore({ path: join(dir, 'store.db') });
    let entered!: () => void;
    const appending = new Promise<void>((resolve) => (entered = resolve));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    // The real store, with its appendMany held at a gate so the request stays in flight.
    const held = new Proxy(store, {
      get(target, property) {
        if (property === 'appendMany') {
          return async (events: readonly unknown[]) => {
            entered();
            await gate;
            return target.appendMany(events);
          };
        }
        const value = Reflect.get(target, property) as unknown;
        return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
      },
    }) as ServerEventStore;
    const server = await createServer({ store: held });
    const base = await server.listen({ port: 0, host: '127.0.0.1' });

    const inFlight = fetch(`${base}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents+json', connection: 'close' },
      body: JSON.stringify(orderEvent({ id: 'in-flight' })),
    });
    await appending;
    let closed = false;
    const closing = server.close().then(() => (closed = true));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const refused = await fetch(`${base}/healthz`).then(
      () => 'answered',
      (error: Error & { cause?: { code?: string } }) => error.cause?.code,
    );
    const closedBeforeRelease = closed;
    release();
    const response = await inFlight;
    await closing;

    expect(refused).toBe('ECONNREFUSED');
    expect(closedBeforeRelease).toBe(false);
    expect(response.status).toBe(201);
    expect((await store.readAll()).map((e) => e.id)).toEqual(['in-flight']);
  });
});
