import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, expect, it } from 'vitest';
import {
  createEvent,
  isEventFabricError,
  type CloudEvent,
  type Subscription,
  type TransportSubscription,
} from '@eventfabric/core';
import { Client, createPool, type Pool } from '../src/driver.js';
import {
  createPostgresEventStore,
  createPostgresQueueTransport,
  type PostgresEventStore,
  type PostgresQueueTransport,
} from '../src/index.js';
import { describeWithPostgres, dropSchemas, testSchemaName, TEST_PG_URL } from './pg-available.js';

// Fault tier (`vitest.fault.config.ts`, one file at a time): this file stops the local
// PostgreSQL cluster mid-run, which would break any other PostgreSQL test running meanwhile.
// It always starts the cluster again (finally + afterAll) and waits until it answers.

const run = promisify(execFile);
const TYPE = 'faulttest.item.added.v1';
const GROUP = 'faulttest.effects';

async function pgctl(action: 'start' | 'stop'): Promise<void> {
  const version = readdirSync('/etc/postgresql')[0]!;
  const args = ['--skip-systemctl-redirect', version, 'main', action];
  if (action === 'stop') args.push('-m', 'fast');
  await run('pg_ctlcluster', args, { timeout: 20_000 });
}

function portOpen(): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port: 5432 });
    socket.setTimeout(1000);
    const done = (open: boolean): void => {
      socket.destroy();
      resolve(open);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });
}

async function until(condition: () => Promise<boolean> | boolean, what: string, ms = 20_000) {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function answers(): Promise<boolean> {
  const client = new Client({ connectionString: TEST_PG_URL, connectionTimeoutMillis: 1000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Start the cluster (unless it is up) and wait until port 5432 accepts and a query runs. */
async function ensureStarted(): Promise<void> {
  if (!(await portOpen())) await pgctl('start').catch(() => undefined);
  await until(portOpen, 'port 5432 to accept connections', 30_000);
  await until(answers, 'PostgreSQL to answer queries', 30_000);
}

const schemas = new Set<string>();

describeWithPostgres('postgres connection faults', () => {
  afterAll(async () => {
    await ensureStarted();
    await dropSchemas(schemas);
  }, 60_000);

  it('fails appends retryably while the server is down, then every subscriber and consumer resumes with no loss and no duplicate', async () => {
    const schema = testSchemaName('ef_fault');
    schemas.add(schema);
    let store: PostgresEventStore | undefined;
    let transport: PostgresQueueTransport | undefined;
    let effects: Pool | undefined;
    let subscription: Subscription | undefined;
    let consumer: TransportSubscription | undefined;
    try {
      store = await createPostgresEventStore({
        connectionString: TEST_PG_URL,
        schema,
        poolSize: 4,
        safetyTickMs: 200,
        connectTimeoutMs: 2000,
      });
      transport = await createPostgresQueueTransport({
        connectionString: TEST_PG_URL,
        schema,
        poolSize: 4,
        pollMs: 200,
        leaseMs: 2000,
        drainTimeoutMs: 2000,
      });
      effects = createPool({ connectionString: TEST_PG_URL, max: 2 });
      await effects.query(
        `CREATE TABLE "${schema}".effects (event_id text PRIMARY KEY, deliveries int NOT NULL)`,
      );
      const effectsPool = effects;

      // The catch-up subscriber records what it sees.
      const seen: { id: string; position: string }[] = [];
      subscription = store.subscribe({
        handler: (event) => {
          seen.push({ id: event.id, position: event.position });
        },
      });

      // The consumer applies each event's effect idempotently (keyed by event id) and counts
      // deliveries; an id delivered again after its ack resolved is a duplicate effect.
      const acked = new Set<string>();
      const redeliveredAfterAck: string[] = [];
      consumer = await transport.subscribe(
        GROUP,
        async (delivery) => {
          const id = delivery.event.id;
          if (acked.has(id)) redeliveredAfterAck.push(id);
          await effectsPool.query(
            `INSERT INTO "${schema}".effects (event_id, deliveries) VALUES ($1, 1)
             ON CONFLICT (event_id) DO UPDATE SET deliveries = effects.deliveries + 1`,
            [id],
          );
          await delivery.ack();
          acked.add(id);
        },
        { topics: [TYPE] },
      );

      const appended: string[] = [];
      const published: string[] = [];
      let counter = 0;
      const next = (): CloudEvent => {
        const n = counter++;
        return createEvent({ type: TYPE, source: 'faults', subject: `item-${n % 4}`, data: { n } });
      };
      const step = async (retryUntilUp: boolean): Promise<void> => {
        const event = next();
        const stream = event.subject!;
        for (let attempt = 1; ; attempt++) {
          try {
            await store!.appendToStream(stream, [event]);
            appended.push(event.id);
            break;
          } catch (error) {
            // Retrying the same ids is safe: the store answers a resent id with the original.
            if (!retryUntilUp || attempt >= 100 || !isRetryableStoreError(error)) break;
            await sleep(100);
          }
        }
        for (let attempt = 1; ; attempt++) {
          try {
            await transport!.publish([event]);
            published.push(event.id);
            break;
          } catch {
            if (!retryUntilUp || attempt >= 100) break;
            await sleep(100);
          }
        }
      };

      // Up: append and publish.
      for (let i = 0; i < 20; i++) await step(false);
      expect(appended).toHaveLength(20);
      expect(published).toHaveLength(20);

      // Down: appends reject with a retryable STORE_UNAVAILABLE; publishes reject.
      const loop = (async () => {
        // Traffic while the server goes away: outcomes may be ambiguous, so none is asserted.
        for (let i = 0; i < 10; i++) await step(false);
      })();
      try {
        await pgctl('stop');
        await until(async () => !(await portOpen()), 'port 5432 to close');
        await loop;
        for (let i = 0; i < 5; i++) {
          const event = next();
          const error = await store
            .appendToStream(event.subject!, [event])
            .catch((e: unknown) => e);
          expect(isEventFabricError(error, 'STORE_UNAVAILABLE')).toBe(true);
          expect(isRetryableStoreError(error)).toBe(true);
          await expect(transport.publish([event])).rejects.toThrow();
        }
      } finally {
        await ensureStarted();
      }

      // Up again: append and publish, retrying until the pools have reconnected.
      for (let i = 0; i < 20; i++) await step(true);

      const all = async (): Promise<string[]> =>
        (await store!.readAll({ limit: 10_000 })).map((e) => e.id);
      await until(async () => seen.length >= (await all()).length, 'the subscriber to catch up');
      await until(async () => {
        const { rows } = await effectsPool.query<{ n: string }>(
          `SELECT count(*) AS n FROM "${schema}".queue_messages WHERE group_name = $1`,
          [GROUP],
        );
        return rows[0]!.n === '0';
      }, 'the queue to drain');

      // The subscriber: every stored event exactly once, in position order; every successful
      // append among them.
      const stored = await all();
      expect(seen.map((e) => e.id)).toEqual(stored);
      expect(new Set(seen.map((e) => e.id)).size).toBe(seen.length);
      const positions = seen.map((e) => BigInt(e.position));
      for (let i = 1; i < positions.length; i++) {
        expect(positions[i]! > positions[i - 1]!).toBe(true);
      }
      expect(stored).toEqual(expect.arrayContaining(appended));
      expect(subscription.live).toBe(true);

      // The consumer: one effect per published event (the primary key makes a second one
      // impossible); nothing acked came back.
      const { rows } = await effectsPool.query<{ event_id: string; deliveries: number }>(
        `SELECT event_id, deliveries FROM "${schema}".effects`,
      );
      const effected = new Set(rows.map((r) => r.event_id));
      for (const id of published) expect(effected.has(id)).toBe(true);
      expect(redeliveredAfterAck).toEqual([]);
      for (const id of published) expect(acked.has(id)).toBe(true);
    } finally {
      await subscription?.stop();
      await consumer?.close().catch(() => undefined);
      await transport?.close().catch(() => undefined);
      await store?.close().catch(() => undefined);
      await effects?.end().catch(() => undefined);
    }
  }, 60_000);
});

function isRetryableStoreError(error: unknown): boolean {
  return (
    isEventFabricError(error, 'STORE_UNAVAILABLE') &&
    (error as { details: { retryable?: unknown } }).details.retryable === true
  );
}
