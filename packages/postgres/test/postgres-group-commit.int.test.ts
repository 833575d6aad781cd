import { afterAll, beforeAll, expect, it } from 'vitest';
import { createEvent, isEventFabricError, type AppendResult } from '@eventfabric/core';
import { createPostgresEventStore, type PostgresEventStore } from '../src/index.js';
import { describeWithPostgres, dropSchemas, testSchemaName, TEST_PG_URL } from './pg-available.js';

// Concurrent appends share statements (group commit): with a pool of 4 the store runs one
// append statement at a time, so appends that arrive meanwhile wait and go together. Rows
// written by one statement share a transaction id (xmin), which is how these tests see it.
const schema = testSchemaName('ef_group');
let store: PostgresEventStore;

function event(stream: string, n: number) {
  return createEvent({
    type: 'test.counter.bumped.v1',
    source: '/test',
    subject: stream,
    data: { n },
  });
}

interface Row {
  stream_id: string;
  stream_version: string;
  position: string;
  event_id: string;
  tx: string;
}

async function rows(prefix: string): Promise<Row[]> {
  const result = await store.pool.query<Row>(
    `SELECT stream_id, stream_version, position, event_id, xmin::text AS tx
     FROM "${schema}".events WHERE stream_id LIKE $1 ORDER BY position`,
    [`${prefix}%`],
  );
  return result.rows;
}

describeWithPostgres('postgres store: group commit of concurrent appends', () => {
  beforeAll(async () => {
    store = await createPostgresEventStore({ connectionString: TEST_PG_URL, schema, poolSize: 4 });
  });
  afterAll(async () => {
    await store?.close();
    await dropSchemas([schema]);
  });

  it('stores 60 concurrent appends to 60 streams in fewer statements, each with its own result', async () => {
    const events = Array.from({ length: 60 }, (_, i) => event(`gc-a-${i}`, i));
    const results = await Promise.all(
      events.map((e, i) =>
        store.appendToStream(`gc-a-${i}`, [e], { expectedVersion: 'no_stream' }),
      ),
    );
    const stored = await rows('gc-a-');
    expect(stored).toHaveLength(60);
    // Every caller got the position and version of its own event.
    const byId = new Map(stored.map((r) => [r.event_id, r]));
    results.forEach((result, i) => {
      const row = byId.get(events[i]!.id)!;
      expect(row.stream_id).toBe(`gc-a-${i}`);
      expect(result).toEqual({
        streamVersion: 0,
        position: row.position,
        positions: [row.position],
        deduplicated: false,
      });
    });
    // The first went alone; the rest waited and shared statements.
    const statements = new Set(stored.map((r) => r.tx)).size;
    expect(statements).toBeGreaterThan(1);
    expect(statements).toBeLessThan(60);
    // Within a shared statement, positions follow call order.
    for (const tx of new Set(stored.map((r) => r.tx))) {
      const members = stored.filter((r) => r.tx === tx).map((r) => Number(r.stream_id.slice(5)));
      expect(members).toEqual([...members].sort((a, b) => a - b));
    }
  });

  it('fails only the append whose expected version does not hold; the others in its statement commit', async () => {
    await store.appendToStream('gc-b-stale', [event('gc-b-stale', 0)]);
    // Hold the only append slot with a first append so the next ones queue and share one statement.
    const first = store.appendToStream('gc-b-first', [event('gc-b-first', 0)]);
    const settled = await Promise.allSettled([
      store.appendToStream('gc-b-1', [event('gc-b-1', 1)], { expectedVersion: 'no_stream' }),
      store.appendToStream('gc-b-stale', [event('gc-b-stale', 1)], {
        expectedVersion: 'no_stream',
      }),
      store.appendToStream('gc-b-2', [event('gc-b-2', 2)], { expectedVersion: 'no_stream' }),
    ]);
    await first;
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const error = (settled[1] as PromiseRejectedResult).reason as unknown;
    expect(isEventFabricError(error, 'WRONG_EXPECTED_VERSION')).toBe(true);
    expect((error as { details: object }).details).toMatchObject({
      streamId: 'gc-b-stale',
      actual: 0,
    });
    const stored = await rows('gc-b-');
    expect(stored.map((r) => `${r.stream_id}@${r.stream_version}`)).toEqual([
      'gc-b-stale@0',
      'gc-b-first@0',
      'gc-b-1@0',
      'gc-b-2@0',
    ]);
    // gc-b-1 and gc-b-2 shared one statement.
    expect(stored[2]!.tx).toBe(stored[3]!.tx);
  });

  it('answers a retried append inside a shared statement with the original result, and stores the others', async () => {
    const retried = [event('gc-c-retry', 0)];
    const original = await store.appendToStream('gc-c-retry', retried);
    const first = store.appendToStream('gc-c-first', [event('gc-c-first', 0)]);
    const [a, again, b] = await Promise.all([
      store.appendToStream('gc-c-1', [event('gc-c-1', 1)]),
      store.appendToStream('gc-c-retry', retried),
      store.appendToStream('gc-c-2', [event('gc-c-2', 2)]),
    ]);
    await first;
    expect(again).toEqual({ ...original, deduplicated: true });
    expect(a.deduplicated).toBe(false);
    expect(b.deduplicated).toBe(false);
    const stored = await rows('gc-c-');
    expect(stored.map((r) => `${r.stream_id}@${r.stream_version}`)).toEqual([
      'gc-c-retry@0',
      'gc-c-first@0',
      'gc-c-1@0',
      'gc-c-2@0',
    ]);
  });

  it('runs concurrent appends to one stream one at a time, in call order', async () => {
    const events = Array.from({ length: 20 }, (_, i) => event('gc-d', i));
    const results: AppendResult[] = await Promise.all(
      events.map((e) => store.appendToStream('gc-d', [e])),
    );
    expect(results.map((r) => r.streamVersion)).toEqual(events.map((_, i) => i));
    const stored = await rows('gc-d');
    expect(stored.map((r) => r.event_id)).toEqual(events.map((e) => e.id));
  });

  it('finishes appends already accepted when the store closes', async () => {
    const own = await createPostgresEventStore({
      connectionString: TEST_PG_URL,
      schema,
      poolSize: 4,
      migrate: false,
    });
    const pending = Array.from({ length: 10 }, (_, i) =>
      own.appendToStream(`gc-e-${i}`, [event(`gc-e-${i}`, i)]),
    );
    await own.close();
    const results = await Promise.all(pending);
    expect(results.map((r) => r.streamVersion)).toEqual(Array.from({ length: 10 }, () => 0));
    expect(await rows('gc-e-')).toHaveLength(10);
  });
});
