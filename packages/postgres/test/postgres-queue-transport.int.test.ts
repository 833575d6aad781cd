import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { createEvent, isEventFabricError } from '@eventfabric/core';
import { describeTransportConformance } from '@eventfabric/conformance';
import { createPool } from '../src/driver.js';
import { createPostgresQueueTransport, type PostgresQueueTransport } from '../src/index.js';
import { describeWithPostgres, dropSchemas, testSchemaName, TEST_PG_URL } from './pg-available.js';

const schemas = new Set<string>();

// Each test gets a fresh schema; every connection the suite opens is a transport with its
// own pool and LISTEN connection on that schema, as a separate process would have. The queue
// is created when a group first subscribes, so a group declared later does not see earlier
// events: not `persistent`. Deliveries are counted in the row, so the count survives a crash.
describeWithPostgres('postgres queue transport', () => {
  afterAll(() => dropSchemas(schemas));

  describeTransportConformance('postgres-queue', {
    setup: () => {
      const schema = testSchemaName('ef_queue');
      schemas.add(schema);
      return {
        create: ({ drainTimeoutMs }) =>
          createPostgresQueueTransport({
            connectionString: TEST_PG_URL,
            schema,
            poolSize: 4,
            drainTimeoutMs,
          }),
      };
    },
    features: {
      persistent: false,
      guaranteedOrder: true,
      nackDelay: true,
      deliveryCountAcrossCrashes: true,
      stress: true,
    },
  });

  it('rejects a batch with an event no group subscribes to, and stores none of it', async () => {
    const schema = testSchemaName('ef_queue');
    schemas.add(schema);
    const transport = await createPostgresQueueTransport({ connectionString: TEST_PG_URL, schema });
    try {
      const routed = 'queuetest.routed.happened.v1';
      await transport.subscribe('queuetest.routed', async (d) => d.ack(), { topics: [routed] });
      const sub = await transport.subscribe('queuetest.idle', async (d) => d.ack(), {
        topics: ['queuetest.idle.*'],
      });
      await sub.close();
      const events = [
        createEvent({ type: 'queuetest.idle.done.v1', source: 'test', subject: 'k', data: {} }),
        createEvent({ type: 'queuetest.nobody.done.v1', source: 'test', subject: 'k', data: {} }),
      ];
      const error = await transport.publish(events).catch((e: unknown) => e);
      expect(isEventFabricError(error, 'INVALID_ARGUMENT')).toBe(true);
      const { rows } = await transport.pool.query<{ n: string }>(
        `SELECT count(*)::text AS n FROM "${schema}".queue_messages`,
      );
      expect(rows[0]!.n).toBe('0');
    } finally {
      await transport.close();
    }
  });

  it('two processes compete on one group: each of 600 events is handled exactly once', async () => {
    const run = await multiProcessRun(600, 0);
    try {
      await run.publishAll();
      await run.waitHandled(20_000);
      // Let the last acks land: then nothing may be pending, nothing handled twice.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await run.handledByWorker()).toEqual(['w1', 'w2']);
      expect(await run.duplicates()).toEqual([]);
      expect(await run.pending()).toBe(0);
      expect(await run.handledIds()).toEqual(run.events.map((e) => e.id).sort());
    } finally {
      await run.stop();
    }
  }, 40_000);

  it('a worker killed with SIGKILL loses nothing: the other takes over its leased events', async () => {
    const run = await multiProcessRun(300, 5);
    try {
      await run.publishAll();
      await run.waitHandled(20_000, 60);
      run.workers[0]!.kill('SIGKILL');
      await once(run.workers[0]!, 'exit');
      // The dead worker's leases (2 s) expire, then w2 handles what it held.
      await run.waitHandled(20_000);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await run.handledIds()).toEqual(run.events.map((e) => e.id).sort());
      expect(await run.pending()).toBe(0);
      // Only what w1 was handling when it died (concurrency 4) may have been handled again.
      expect((await run.duplicates()).length).toBeLessThanOrEqual(4);
    } finally {
      await run.stop();
    }
  }, 40_000);
});

/**
 * Two worker processes (fixtures/queue-worker.mjs, on the built package) in one group of a
 * fresh schema, each recording what it handles; `count` events over 30 keys to publish.
 */
async function multiProcessRun(count: number, workMs: number) {
  const schema = testSchemaName('ef_queue_mp');
  schemas.add(schema);
  const publisher: PostgresQueueTransport = await createPostgresQueueTransport({
    connectionString: TEST_PG_URL,
    schema,
  });
  const pool = createPool({ connectionString: TEST_PG_URL, max: 2 });
  const workers: ChildProcess[] = [];
  const group = 'queuetest.workers';
  const topic = 'queuetest.job.queued.v1';
  const count1 = async (sql: string): Promise<number> =>
    Number((await pool.query<{ n: string }>(sql)).rows[0]!.n);
  const stop = async (): Promise<void> => {
    await Promise.all(
      workers.map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = once(child, 'exit');
        child.kill('SIGTERM');
        await exited;
      }),
    );
    await publisher.close();
    await pool.end();
  };
  try {
    await pool.query(
      `CREATE TABLE "${schema}".queue_handled (event_id text PRIMARY KEY, worker text NOT NULL);
       CREATE TABLE "${schema}".queue_duplicates (event_id text NOT NULL, worker text NOT NULL)`,
    );
    const script = fileURLToPath(new URL('./fixtures/queue-worker.mjs', import.meta.url));
    for (const name of ['w1', 'w2']) {
      const args = [script, TEST_PG_URL, schema, group, topic, name, String(workMs)];
      const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
      workers.push(child);
      const [chunk] = (await once(child.stdout!, 'data')) as [Buffer];
      expect(chunk.toString()).toContain('ready');
    }
  } catch (error) {
    await stop();
    throw error;
  }
  const events = Array.from({ length: count }, (_, n) =>
    createEvent({ type: topic, source: 'test', subject: `job-${n % 30}`, data: { n } }),
  );
  return {
    events,
    workers,
    stop,
    publishAll: async () => {
      for (let i = 0; i < events.length; i += 100)
        await publisher.publish(events.slice(i, i + 100));
    },
    /** Wait until at least `atLeast` (all by default) events are recorded as handled. */
    waitHandled: async (timeoutMs: number, atLeast = count) => {
      const deadline = Date.now() + timeoutMs;
      let handled = 0;
      while (Date.now() < deadline) {
        handled = await count1(`SELECT count(*)::text AS n FROM "${schema}".queue_handled`);
        if (handled >= atLeast) return;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(handled, 'events handled').toBeGreaterThanOrEqual(atLeast);
    },
    handledByWorker: async () =>
      (
        await pool.query<{ worker: string }>(
          `SELECT DISTINCT worker FROM "${schema}".queue_handled ORDER BY worker`,
        )
      ).rows.map((r) => r.worker),
    duplicates: async () =>
      (await pool.query(`SELECT * FROM "${schema}".queue_duplicates`)).rows as unknown[],
    pending: () => count1(`SELECT count(*)::text AS n FROM "${schema}".queue_messages`),
    handledIds: async () =>
      (
        await pool.query<{ event_id: string }>(
          `SELECT event_id FROM "${schema}".queue_handled ORDER BY event_id`,
        )
      ).rows
        .map((r) => r.event_id)
        .sort(),
  };
}
