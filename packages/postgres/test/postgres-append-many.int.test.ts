import { afterAll, beforeAll, expect, it } from 'vitest';
import { createEvent, isEventFabricError } from '@eventfabric/core';
import { createPostgresEventStore, type PostgresEventStore } from '../src/index.js';
import { describeWithPostgres, dropSchemas, testSchemaName, TEST_PG_URL } from './pg-available.js';

const schema = testSchemaName('ef_many');
let store: PostgresEventStore;

function event(stream: string, n: number, type = 'test.counter.bumped.v1') {
  return createEvent({ type, source: '/test', subject: stream, data: { n } });
}

async function count(): Promise<number> {
  const result = await store.pool.query<{ n: string }>(
    `SELECT count(*) AS n FROM "${schema}".events`,
  );
  return Number(result.rows[0]!.n);
}

describeWithPostgres('postgres store: appendMany', () => {
  beforeAll(async () => {
    store = await createPostgresEventStore({
      connectionString: TEST_PG_URL,
      schema,
      limits: { maxBatchSize: 50 },
    });
  });
  afterAll(async () => {
    await store?.close();
    await dropSchemas([schema]);
  });

  it('appends events to their own streams in one statement, positions in the order given', async () => {
    await store.appendToStream('many-a', [event('many-a', 0)]);
    const before = await count();
    const batch = [event('many-b', 0), event('many-a', 1), event('many-b', 1), event('many-a', 2)];
    const result = await store.appendMany(batch);
    expect(result.duplicates).toBe(0);
    expect(result.positions.map(Number)).toEqual(
      [1, 2, 3, 4].map((i) => Number(result.positions[0]) + i - 1),
    );
    expect(await count()).toBe(before + 4);
    const a = await store.readStream('many-a');
    const b = await store.readStream('many-b');
    expect(a.map((e) => [e.streamversion, (e.data as { n: number }).n])).toEqual([
      [0, 0],
      [1, 1],
      [2, 2],
    ]);
    expect(b.map((e) => [e.streamversion, e.position])).toEqual([
      [0, result.positions[0]],
      [1, result.positions[2]],
    ]);
    const rows = await store.pool.query<{ tx: string }>(
      `SELECT DISTINCT xmin::text AS tx FROM "${schema}".events WHERE event_id = ANY($1)`,
      [batch.map((e) => e.id)],
    );
    expect(rows.rows).toHaveLength(1);
  });

  it('keeps data holding control characters intact (bodies travel joined by U+001E)', async () => {
    const tricky = { s: 'a\u001eb\u0000c\u001f"\\', nested: ['\u001e'] };
    const events = [0, 1, 2].map((n) =>
      createEvent({
        type: 'test.counter.bumped.v1',
        source: '/t',
        subject: 'many-x',
        data: { n, tricky },
      }),
    );
    await store.appendMany(events.slice(0, 2));
    await store.appendToStream('many-x', events.slice(2));
    const read = await store.readStream('many-x');
    expect(read.map((e) => e.data)).toEqual(events.map((e) => e.data));
  });

  it('answers a retried batch with the first positions, writing nothing', async () => {
    const batch = [event('many-c', 0), event('many-d', 0)];
    const first = await store.appendMany(batch);
    const before = await count();
    const again = await store.appendMany(batch);
    expect(again).toEqual({ positions: first.positions, duplicates: 2 });
    expect(await count()).toBe(before);
  });

  it('stores the rest of a batch whose first part was stored, keeping the stored positions', async () => {
    const stored = event('many-e', 0);
    const [first] = (await store.appendMany([stored])).positions;
    const fresh = event('many-e', 1);
    const result = await store.appendMany([stored, fresh]);
    expect(result.duplicates).toBe(1);
    expect(result.positions[0]).toBe(first);
    expect((await store.readStream('many-e')).map((e) => e.id)).toEqual([stored.id, fresh.id]);
  });

  it('rejects an id stored for a different event with DUPLICATE_EVENT_ID and writes nothing', async () => {
    const original = event('many-f', 0);
    await store.appendMany([original]);
    const before = await count();
    const impostor = { ...event('many-g', 0), id: original.id };
    const error = await store.appendMany([event('many-g', 1), impostor]).catch((e: unknown) => e);
    expect(isEventFabricError(error, 'DUPLICATE_EVENT_ID')).toBe(true);
    expect(await count()).toBe(before);
    expect(await store.streamExists('many-g')).toBe(false);
  });

  it('rejects malformed input with a clear code and writes nothing', async () => {
    const before = await count();
    const cases: [unknown, string][] = [
      ['not an array', 'INVALID_ARGUMENT'],
      [[{ ...event('many-h', 0), subject: '$all' }], 'INVALID_EVENT'],
      [[{ type: 'test.counter.bumped.v1' }], 'INVALID_EVENT'],
      [Array.from({ length: 51 }, (_, i) => event('many-h', i)), 'BATCH_TOO_LARGE'],
      [[event('many-h', 0), { ...event('many-h', 1), specversion: '0.3' }], 'INVALID_EVENT'],
    ];
    for (const [input, code] of cases) {
      const error = await store.appendMany(input as unknown[]).catch((e: unknown) => e);
      expect(isEventFabricError(error, code as never), code).toBe(true);
    }
    expect(await store.appendMany([])).toEqual({ positions: [], duplicates: 0 });
    expect(await count()).toBe(before);
  });
});
