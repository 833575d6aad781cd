import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { createEvent, type EventStore } from '@eventfabric/core';
import { createPostgresEventStore } from '@eventfabric/postgres';
import { createSqliteEventStore } from '@eventfabric/sqlite';
import { collect, sleep, spawnCli, tempDir, until } from './cli-harness.js';
import {
  describeWithPostgres,
  dropSchemas,
  storeUrl,
  TEST_PG_URL,
  testSchemaName,
} from './pg-available.js';

const CONFIG = fileURLToPath(new URL('./fixtures/sagas.config.mjs', import.meta.url));
const { dir, remove } = tempDir();
afterAll(remove);

const FLOW_AFTER_TIMEOUT = [
  'shop.stock.reserve.v1',
  'shop.stock.reserved.v1',
  'shop.payment.charge.v1',
  'eventfabric.saga.timed-out.v1',
  'shop.payment.refunded.v1',
  'shop.stock.released.v1',
];

/** Start `sagas run` and wait for it to say it runs. */
async function startRunner(cwd: string, store: string) {
  const child = spawnCli(['sagas', 'run', '--store', store], { cwd });
  const result = collect(child);
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  await until(
    async () => out,
    (text) => text.includes('running 1 saga'),
    'sagas run to start',
  );
  return { child, result };
}

/**
 * The checkout's charge step waits for a reply that never comes; its runner is SIGKILLed
 * while the 3 s timeout runs, and a new runner started after it fell due fires it.
 */
async function timeoutSurvivesKill(store: EventStore, url: string, cwd: string): Promise<void> {
  mkdirSync(cwd, { recursive: true });
  copyFileSync(CONFIG, join(cwd, 'eventfabric.config.mjs'));
  const flow = async (correlation: string) =>
    (await store.readByCorrelation(correlation)).slice(1).map((e) => e.type);

  const first = await startRunner(cwd, url);
  const placed = createEvent({
    type: 'shop.order.placed.v1',
    source: '/shop',
    subject: 'order-k1',
    data: { orderId: 'k1' },
  });
  await store.appendToStream(placed.subject!, [placed]);
  const reserve = await until(
    async () =>
      (await store.readByCorrelation(placed.id)).find((e) => e.type === 'shop.stock.reserve.v1'),
    (found) => found !== undefined,
    'the reserve command',
  );
  const reserved = createEvent({
    type: 'shop.stock.reserved.v1',
    source: '/shop',
    subject: reserve!.subject!,
    data: {},
    parent: reserve!,
  });
  await store.appendToStream(reserved.subject!, [reserved]);
  await until(
    () => flow(placed.id),
    (types) => types.includes('shop.payment.charge.v1'),
    'the charge command',
  );
  first.child.kill('SIGKILL');
  expect((await first.result).code).toBeNull();

  // The timeout falls due while no runner is alive.
  await sleep(3300);
  expect(await flow(placed.id)).toEqual([
    'shop.stock.reserve.v1',
    'shop.stock.reserved.v1',
    'shop.payment.charge.v1',
  ]);

  const second = await startRunner(cwd, url);
  try {
    await until(
      () => flow(placed.id),
      (types) => types.length >= FLOW_AFTER_TIMEOUT.length,
      'the timeout and its compensations',
    );
    await sleep(300); // nothing more may follow
    expect(await flow(placed.id)).toEqual(FLOW_AFTER_TIMEOUT);
  } finally {
    second.child.kill('SIGTERM');
    const ended = await second.result;
    expect(ended.code).toBe(0);
    expect(ended.stdout).toContain('stopped');
  }
}

describe('eventfabric sagas run, SIGKILLed (SQLite)', () => {
  it('fires a durable timeout after the runner is killed and restarted, compensating once', async () => {
    const path = join(dir, 'restart.db');
    const store = createSqliteEventStore({ path });
    try {
      await timeoutSurvivesKill(store, `sqlite:${path}`, join(dir, 'sqlite'));
    } finally {
      await store.close();
    }
  });
});

describeWithPostgres('eventfabric sagas run, SIGKILLed (PostgreSQL)', () => {
  const schema = testSchemaName('ef_cli_saga');
  afterAll(() => dropSchemas([schema]));

  it('fires a durable timeout after the runner is killed and restarted, compensating once', async () => {
    const store = await createPostgresEventStore({ connectionString: TEST_PG_URL, schema });
    try {
      await timeoutSurvivesKill(store, storeUrl(schema), join(dir, 'postgres'));
    } finally {
      await store.close();
    }
  });
});
