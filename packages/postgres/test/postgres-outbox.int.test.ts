import { afterAll, beforeAll, expect, it } from 'vitest';
import { createEvent, type StoredEvent } from '@eventfabric/core';
import { Client } from '../src/driver.js';
import {
  createPostgresEventStore,
  withTransaction,
  type PostgresEventStore,
  type PostgresTransaction,
} from '../src/index.js';
import { describeWithPostgres, dropSchemas, testSchemaName, TEST_PG_URL } from './pg-available.js';

const schema = testSchemaName('ef_outbox');
const orders = `"${schema}".orders`;
let store: PostgresEventStore;

function placed(orderId: string, n = 1) {
  return createEvent({
    type: 'test.order.placed.v1',
    source: '/shop',
    subject: orderId,
    data: { orderId, n },
  });
}

async function insertOrder(tx: PostgresTransaction, orderId: string): Promise<void> {
  await tx.query(`INSERT INTO ${orders} (id) VALUES ($1)`, [orderId]);
}

async function orderIds(): Promise<string[]> {
  const result = await store.pool.query<{ id: string }>(`SELECT id FROM ${orders} ORDER BY id`);
  return result.rows.map((r) => r.id);
}

async function until(condition: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describeWithPostgres('postgres transactional outbox', () => {
  beforeAll(async () => {
    // No safety tick within a test's time: subscribers wake by NOTIFY alone.
    store = await createPostgresEventStore({
      connectionString: TEST_PG_URL,
      schema,
      poolSize: 8,
      safetyTickMs: 600_000,
    });
    await store.pool.query(`CREATE TABLE ${orders} (id text PRIMARY KEY)`);
  });
  afterAll(async () => {
    await store?.close();
    await dropSchemas([schema]);
  });

  it('commits the application row and the events together; NOTIFY and subscribers see them only after COMMIT', async () => {
    const listener = new Client({ connectionString: TEST_PG_URL });
    await listener.connect();
    let notifications = 0;
    listener.on('notification', () => notifications++);
    await listener.query(`LISTEN "${schema}_events"`);
    const seen: StoredEvent[] = [];
    const subscription = store.subscribe({
      after: await store.headPosition(),
      handler: (e) => void seen.push(e),
    });
    await until(() => subscription.live, 'the subscription to go live');
    const head = await store.headPosition();
    const events = [placed('order-1', 1), placed('order-1', 2)];
    try {
      const result = await withTransaction(store, async (tx) => {
        await insertOrder(tx, 'order-1');
        const appended = await tx.appendToStream('order-1', events, {
          expectedVersion: 'no_stream',
        });
        await sleep(300);
        // Not yet committed: invisible to other sessions, readers and subscribers.
        expect(notifications).toBe(0);
        expect(seen).toEqual([]);
        expect(await store.headPosition()).toBe(head);
        expect(await store.streamVersion('order-1')).toBe(-1);
        expect(await orderIds()).toEqual([]);
        return appended;
      });
      expect(result).toMatchObject({ streamVersion: 1, deduplicated: false });
      await until(() => seen.length === 2, 'the subscriber to receive both events', 2000);
      expect(notifications).toBe(1);
      expect(seen.map((e) => [e.id, e.streamversion, e.position])).toEqual([
        [events[0]!.id, 0, result.positions[0]],
        [events[1]!.id, 1, result.positions[1]],
      ]);
      expect(await orderIds()).toEqual(['order-1']);
      expect(await store.headPosition()).toBe(result.position);
    } finally {
      await subscription.stop();
      await listener.end();
    }
  });

  it('rolls back the application row and the events when the function throws, and rethrows', async () => {
    const head = await store.headPosition();
    const failure = new Error('payment declined');
    await expect(
      withTransaction(store, async (tx) => {
        await insertOrder(tx, 'order-2');
        await tx.appendToStream('order-2', [placed('order-2')]);
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(await store.headPosition()).toBe(head);
    expect(await store.streamVersion('order-2')).toBe(-1);
    expect(await orderIds()).not.toContain('order-2');
  });

  it('lets exactly one of several concurrent transactions append at an expected version', async () => {
    const head = BigInt(await store.headPosition());
    const contenders = Array.from({ length: 6 }, (_, i) =>
      withTransaction(store, async (tx) => {
        await insertOrder(tx, `order-3-${i}`);
        const result = await tx.appendToStream('order-3', [placed('order-3', i)], {
          expectedVersion: 'no_stream',
        });
        await sleep(50); // hold the transaction open while the others race
        return result;
      }),
    );
    const outcomes = await Promise.allSettled(contenders);
    const won = outcomes.flatMap((o, i) => (o.status === 'fulfilled' ? [i] : []));
    expect(won).toHaveLength(1);
    const losers = outcomes.filter((o) => o.status === 'rejected');
    expect(losers.map((o) => (o as PromiseRejectedResult).reason.code)).toEqual(
      Array(5).fill('WRONG_EXPECTED_VERSION'),
    );
    const stream = await store.readStream('order-3');
    expect(stream.map((e) => e.data)).toEqual([{ orderId: 'order-3', n: won[0] }]);
    expect((await orderIds()).filter((id) => id.startsWith('order-3-'))).toEqual([
      `order-3-${won[0]}`,
    ]);
    expect(BigInt(await store.headPosition())).toBeGreaterThan(head);
  });

  it('rolls back the whole transaction on WRONG_EXPECTED_VERSION, even when the function catches it', async () => {
    await store.appendToStream('order-4', [placed('order-4')]);
    const head = await store.headPosition();
    await expect(
      withTransaction(store, async (tx) => {
        await insertOrder(tx, 'order-4');
        await tx
          .appendToStream('order-4', [placed('order-4', 2)], { expectedVersion: 'no_stream' })
          .catch(() => undefined);
        return 'swallowed';
      }),
    ).rejects.toMatchObject({
      code: 'WRONG_EXPECTED_VERSION',
      details: { streamId: 'order-4', actual: 0 },
    });
    expect(await orderIds()).not.toContain('order-4');
    expect(await store.headPosition()).toBe(head);
  });

  it('answers a retried append inside a transaction as the store does: deduplicated, and the transaction commits', async () => {
    const events = [placed('order-5', 1), placed('order-5', 2)];
    const first = await store.appendToStream('order-5', events);
    const again = await withTransaction(store, async (tx) => {
      await insertOrder(tx, 'order-5');
      // The duplicate id fails a statement; the transaction survives it.
      return tx.appendToStream('order-5', events, { expectedVersion: 'no_stream' });
    });
    expect(again).toEqual({ ...first, deduplicated: true });
    expect(await orderIds()).toContain('order-5');
    expect(await store.streamVersion('order-5')).toBe(1);
  });

  it('reports a transaction aborted by a caught failed statement instead of claiming a commit', async () => {
    await expect(
      withTransaction(store, async (tx) => {
        await insertOrder(tx, 'order-6');
        await tx.query('SELECT 1 / 0').catch(() => undefined);
      }),
    ).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    expect(await orderIds()).not.toContain('order-6');
  });

  it('refuses use of a transaction after it ended', async () => {
    let escaped: PostgresTransaction | undefined;
    await withTransaction(store, async (tx) => {
      escaped = tx;
    });
    await expect(escaped!.query('SELECT 1')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(escaped!.appendToStream('order-7', [placed('order-7')])).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    expect(await store.streamVersion('order-7')).toBe(-1);
  });
});
