import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { StoredEvent } from '@eventfabric/core';
import { Client } from '../src/driver.js';
import { createPostgresEventStore, type PostgresEventStore } from '../src/index.js';
import { describeWithPostgres, dropSchemas, testSchemaName, TEST_PG_URL } from './pg-available.js';

const schema = testSchemaName('ef_gaps');
let store: PostgresEventStore;

/** Insert events as the store would, inside the caller's open transaction. */
async function insertRaw(client: Client, streamId: string, count: number): Promise<string[]> {
  const ids = Array.from({ length: count }, () => randomUUID());
  const bodies = ids.map((id) =>
    JSON.stringify({
      specversion: '1.0',
      id,
      type: 'test.gap.v1',
      source: 'gaps',
      subject: streamId,
      correlationid: id,
      data: {},
    }),
  );
  await client.query(
    `INSERT INTO "${schema}".events (event_id, stream_id, stream_version, type, category, correlation_id, body)
     SELECT id, $1, ord - 1, 'test.gap.v1', 'gap', id, body
     FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS e(id, body, ord)`,
    [streamId, ids, bodies],
  );
  return ids;
}

async function connect(): Promise<Client> {
  const client = new Client({ connectionString: TEST_PG_URL });
  await client.connect();
  return client;
}

describeWithPostgres('postgres $all gap safety', () => {
  beforeAll(async () => {
    store = await createPostgresEventStore({ connectionString: TEST_PG_URL, schema, poolSize: 4 });
  });
  afterAll(async () => {
    await store?.close();
    await dropSchemas([schema]);
  });

  it('a subscriber sees every committed event once, in position order, while 8 writers commit out of order', async () => {
    const seen: StoredEvent[] = [];
    const subscription = store.subscribe({ handler: (e) => void seen.push(e) });
    const committed = new Set<string>();
    const rolledBack = new Set<string>();
    const writers = await Promise.all(Array.from({ length: 8 }, connect));

    // 8 writers × 25 transactions: take positions, sleep 0–50 ms, then commit or roll back.
    await Promise.all(
      writers.map(async (client, w) => {
        for (let t = 0; t < 25; t++) {
          await client.query('BEGIN');
          const ids = await insertRaw(client, `gap-${w}-${t}`, 1 + (t % 3));
          if (t % 2 === 0)
            await insertRaw(client, `gap-${w}-${t}-b`, 1).then((more) => ids.push(...more));
          await client.query('SELECT pg_sleep($1)', [Math.random() * 0.05]);
          if (Math.random() < 0.15) {
            await client.query('ROLLBACK');
            ids.forEach((id) => rolledBack.add(id));
          } else {
            await client.query('COMMIT');
            ids.forEach((id) => committed.add(id));
          }
        }
      }),
    );
    await Promise.all(writers.map((c) => c.end()));
    const deadline = Date.now() + 10_000;
    while (seen.length < committed.size && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => setTimeout(r, 200));
    await subscription.stop();

    const ids = seen.map((e) => e.id);
    expect(rolledBack.size).toBeGreaterThan(0);
    expect(new Set(ids).size).toBe(ids.length);
    expect(new Set(ids)).toEqual(committed);
    expect(ids.filter((id) => rolledBack.has(id))).toEqual([]);
    const positions = seen.map((e) => BigInt(e.position));
    expect(positions.every((p, i) => i === 0 || p > positions[i - 1]!)).toBe(true);
    expect(await store.readAll({ limit: 100_000 })).toEqual(seen);
  });

  it('a lower position still being written holds readers back, and horizon() names its session', async () => {
    const early = await connect(); // takes its transaction id first, then a high position
    const late = await connect(); // takes a higher transaction id, then a lower position
    const head = BigInt(await store.headPosition());
    try {
      await early.query('BEGIN');
      const [first] = await insertRaw(early, `hold-a-${randomUUID()}`, 1);
      await late.query('BEGIN');
      const [middle] = await insertRaw(late, `hold-b-${randomUUID()}`, 1);
      const [last] = await insertRaw(early, `hold-c-${randomUUID()}`, 1);
      await early.query('COMMIT');

      // A filter on the xid horizon alone would admit `first` and `last` and skip `middle`.
      const naive = await store.pool.query<{ event_id: string }>(
        `SELECT event_id FROM "${schema}".events
         WHERE position > $1 AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
         ORDER BY position`,
        [head.toString()],
      );
      expect(naive.rows.map((r) => r.event_id)).toEqual([first, last]);

      const held = await store.readAll({ after: head.toString() });
      expect(held.map((e) => e.id)).toEqual([first]);
      const { blockedBy } = await store.horizon();
      const latePid = (await late.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!
        .pid;
      expect(blockedBy.map((b) => b.pid)).toEqual([latePid]);
      expect(blockedBy[0]!.ageMs).toBeGreaterThanOrEqual(0);

      await late.query('COMMIT');
      const all = await store.readAll({ after: head.toString() });
      expect(all.map((e) => e.id)).toEqual([first, middle, last]);
      expect((await store.horizon()).blockedBy).toEqual([]);
    } finally {
      await early.end();
      await late.end();
    }
  });
});
