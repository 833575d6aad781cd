import { afterAll, expect, it } from 'vitest';
import { createConsumer, createEvent, createInMemoryTransport } from '@eventfabric/core';
import {
  describeDeadLetterStoreConformance,
  describeProcessedEventsConformance,
} from '@eventfabric/conformance';
import {
  createPostgresDeadLetterStore,
  createPostgresEventStore,
  PostgresIdempotencyKeyStore,
  PostgresProcessedEvents,
  type PostgresEventStore,
  type PostgresTransaction,
} from '../src/index.js';
import { describeWithPostgres, dropSchemas, testSchemaName, TEST_PG_URL } from './pg-available.js';

const schemas = new Set<string>();
const stores: PostgresEventStore[] = [];

/** A store on a fresh schema, migrated: its pool and schema hold the consumer records. */
async function freshStore(): Promise<PostgresEventStore> {
  const schema = testSchemaName('ef_records');
  schemas.add(schema);
  const store = await createPostgresEventStore({
    connectionString: TEST_PG_URL,
    schema,
    poolSize: 6,
  });
  stores.push(store);
  return store;
}

async function withBalances(store: PostgresEventStore) {
  const table = `"${store.schema}".balances`;
  await store.pool.query(`CREATE TABLE ${table} (member text PRIMARY KEY, cents integer NOT NULL)`);
  const credit = (member: string, cents: number) => async (tx: unknown) => {
    await (tx as PostgresTransaction).query(
      `INSERT INTO ${table} VALUES ($1, $2)
       ON CONFLICT (member) DO UPDATE SET cents = balances.cents + excluded.cents`,
      [member, cents],
    );
  };
  const balance = async (member: string) =>
    (
      await store.pool.query<{ cents: number }>(`SELECT cents FROM ${table} WHERE member = $1`, [
        member,
      ])
    ).rows[0]?.cents;
  return { table, credit, balance };
}

describeWithPostgres('postgres consumer records', () => {
  afterAll(async () => {
    await Promise.all(stores.map((s) => s.close()));
    await dropSchemas(schemas);
  });

  describeDeadLetterStoreConformance('postgres', {
    create: async () => createPostgresDeadLetterStore(await freshStore()),
  });
  describeProcessedEventsConformance('postgres', {
    create: async () => new PostgresProcessedEvents(await freshStore()),
    createKeys: async () => new PostgresIdempotencyKeyStore(await freshStore()),
  });

  it('commits the effect and the record together, and skips the effect on redelivery', async () => {
    const store = await freshStore();
    const processed = new PostgresProcessedEvents(store);
    const { credit, balance } = await withBalances(store);
    const run = () =>
      processed.once('ledger', 'evt-1', credit('m-1', 500), { transactional: true });
    expect(await run()).toBe(true);
    expect(await run()).toBe(false);
    expect(await balance('m-1')).toBe(500);
  });

  it('rolls back the effect, its follow-up events and the record when the handler fails after writing', async () => {
    const store = await freshStore();
    const processed = new PostgresProcessedEvents(store);
    const { credit, balance } = await withBalances(store);
    const head = await store.headPosition();
    const failing = async (tx: unknown) => {
      await credit('m-2', 700)(tx);
      await (tx as PostgresTransaction).appendToStream('ledger-m-2', [
        createEvent({
          type: 'test.ledger.credited.v1',
          source: '/t',
          subject: 'ledger-m-2',
          data: { cents: 700 },
        }),
      ]);
      throw new Error('downstream refused');
    };
    await expect(
      processed.once('ledger', 'evt-2', failing, { transactional: true }),
    ).rejects.toThrow('downstream refused');
    expect(await balance('m-2')).toBeUndefined();
    expect(await store.streamVersion('ledger-m-2')).toBe(-1);
    expect(await store.headPosition()).toBe(head);
    expect(await processed.has('ledger', 'evt-2')).toBe(false);
  });

  it('runs concurrent deliveries of one event once: the second waits on the first’s record', async () => {
    const store = await freshStore();
    const processed = new PostgresProcessedEvents(store);
    const { credit, balance } = await withBalances(store);
    const slowCredit = (cents: number) => async (tx: unknown) => {
      await credit('m-3', cents)(tx);
      await new Promise((r) => setTimeout(r, 20));
    };
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        processed.once('ledger', `evt-${i % 5}`, slowCredit(i % 5), { transactional: true }),
      ),
    );
    expect(results.filter(Boolean)).toHaveLength(5);
    expect(await balance('m-3')).toBe(0 + 1 + 2 + 3 + 4);
  });

  it('runs a delivery whose concurrent twin rolled back', async () => {
    const store = await freshStore();
    const processed = new PostgresProcessedEvents(store);
    const { credit, balance } = await withBalances(store);
    const first = processed.once(
      'ledger',
      'evt-4',
      async (tx) => {
        await credit('m-4', 100)(tx);
        await new Promise((r) => setTimeout(r, 100));
        throw new Error('first attempt fails');
      },
      { transactional: true },
    );
    await new Promise((r) => setTimeout(r, 30));
    const second = processed.once('ledger', 'evt-4', credit('m-4', 100), { transactional: true });
    await expect(first).rejects.toThrow('first attempt fails');
    expect(await second).toBe(true);
    expect(await balance('m-4')).toBe(100);
  });

  it('a transactional consumer handler applies its writes, follow-ups and record exactly once across a failed attempt', async () => {
    const store = await freshStore();
    const processed = new PostgresProcessedEvents(store);
    const { table, balance } = await withBalances(store);
    const transport = createInMemoryTransport();
    const attempts = new Map<string, number>();
    /** What the second attempt of m-1 saw of the first, failed one. */
    let seenBeforeRetry: unknown;
    const consumer = createConsumer({
      service: 'treasury',
      transport,
      store,
      processed,
      retry: { initialDelayMs: 5, jitter: 0 },
      concurrency: 4,
      handlers: [
        {
          name: 'ledger',
          on: ['test.*'],
          transactional: true,
          handle: async (event, ctx) => {
            const tx = ctx.tx as PostgresTransaction;
            const { member, cents } = event.data as { member: string; cents: number };
            const attempt = (attempts.get(member) ?? 0) + 1;
            attempts.set(member, attempt);
            if (member === 'm-1' && attempt === 2) {
              seenBeforeRetry = {
                balance: await balance('m-1'),
                ledgerVersion: await store.streamVersion('ledger-m-1'),
                processed: await processed.has('ledger', event.id),
              };
            }
            await tx.query(
              `INSERT INTO ${table} VALUES ($1, $2)
               ON CONFLICT (member) DO UPDATE SET cents = balances.cents + excluded.cents`,
              [member, cents],
            );
            await tx.appendToStream(`ledger-${member}`, [
              ctx.createEvent({
                type: 'test.ledger.credited.v1',
                subject: `ledger-${member}`,
                data: { cents },
              }),
            ]);
            if (member === 'm-1' && attempt === 1) throw new Error('the bank hung up');
          },
        },
      ],
    });
    await consumer.start();
    const events = ['m-1', 'm-2', 'm-3'].map((member) =>
      createEvent({
        type: 'test.contribution.approved.v1',
        source: '/t',
        subject: `c-${member}`,
        data: { member, cents: 250 },
      }),
    );
    await transport.publish(events);
    const deadline = Date.now() + 10_000;
    for (const event of events) {
      while (!(await processed.has('ledger', event.id))) {
        if (Date.now() > deadline) throw new Error('handlings did not finish');
        await new Promise((r) => setTimeout(r, 10));
      }
    }
    await consumer.stop();

    expect(seenBeforeRetry).toEqual({ balance: undefined, ledgerVersion: -1, processed: false });
    expect(Object.fromEntries(attempts)).toEqual({ 'm-1': 2, 'm-2': 1, 'm-3': 1 });
    const balances = await store.pool.query(`SELECT member, cents FROM ${table} ORDER BY member`);
    expect(balances.rows).toEqual([
      { member: 'm-1', cents: 250 },
      { member: 'm-2', cents: 250 },
      { member: 'm-3', cents: 250 },
    ]);
    for (const [i, member] of ['m-1', 'm-2', 'm-3'].entries()) {
      const ledger = await store.readStream(`ledger-${member}`);
      expect(ledger.map((e) => [e.type, e.data, e.causationid])).toEqual([
        ['test.ledger.credited.v1', { cents: 250 }, events[i]!.id],
      ]);
    }
  });
});
