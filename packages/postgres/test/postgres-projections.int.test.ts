import { afterAll, afterEach, expect, it } from 'vitest';
import {
  createEvent,
  defineProjection,
  rebuildProjection,
  startProjections,
  verifyProjection,
  type ProjectionDaemon,
} from '@eventfabric/core';
import {
  createPostgresEventStore,
  PostgresProjectionStorage,
  type PostgresEventStore,
  type PostgresTransaction,
} from '../src/index.js';
import {
  describeWithPostgres,
  dropSchemas,
  testSchemaName,
  TEST_PG_URL,
  until,
} from './pg-available.js';

type Tx = PostgresTransaction;

const schemas = new Set<string>();
const stores: PostgresEventStore[] = [];
const daemons: ProjectionDaemon[] = [];

async function open() {
  const schema = testSchemaName('ef_proj');
  schemas.add(schema);
  const store = await createPostgresEventStore({
    connectionString: TEST_PG_URL,
    schema,
    poolSize: 4,
  });
  stores.push(store);
  return { store, storage: new PostgresProjectionStorage(store), schema };
}

async function contribute(store: PostgresEventStore, member: string, cents: number) {
  await store.appendToStream(`member-${member}`, [
    createEvent({
      type: 'treasury.contribution.approved.v1',
      source: '/test',
      subject: `member-${member}`,
      data: { member, cents },
    }),
  ]);
}

function balances(version: number, effects?: string[]) {
  return defineProjection<Tx>({
    name: 'balances',
    version,
    tables: ['balances'],
    async setup({ tx, table }) {
      await tx.query(
        version === 1
          ? `CREATE TABLE ${table('balances')} (member text PRIMARY KEY, cents integer NOT NULL)`
          : `CREATE TABLE ${table('balances')} (member text PRIMARY KEY, cents integer NOT NULL, count integer NOT NULL)`,
      );
    },
    handlers: {
      'treasury.contribution.approved.v1': async (event, { tx, table }) => {
        const { member, cents } = event.data as { member: string; cents: number };
        await tx.query(
          version === 1
            ? `INSERT INTO ${table('balances')} AS b (member, cents) VALUES ($1, $2)
               ON CONFLICT (member) DO UPDATE SET cents = b.cents + excluded.cents`
            : `INSERT INTO ${table('balances')} AS b (member, cents, count) VALUES ($1, $2, 1)
               ON CONFLICT (member) DO UPDATE SET cents = b.cents + excluded.cents, count = b.count + 1`,
          [member, cents],
        );
      },
    },
    sideEffects: effects && {
      'treasury.*': (event) => void effects.push((event.data as { member: string }).member),
    },
  });
}

async function readBalances(store: PostgresEventStore) {
  return (await store.pool.query(`SELECT * FROM "${store.schema}".balances ORDER BY member`)).rows;
}

describeWithPostgres('projections on PostgreSQL', () => {
  afterEach(async () => {
    await Promise.all(daemons.splice(0).map((d) => d.stop()));
  });
  afterAll(async () => {
    await Promise.all(stores.map((s) => s.close()));
    await dropSchemas(schemas);
  });

  it('builds, swaps in, follows live events with side effects only when live, and rebuilds a raised version blue/green', async () => {
    const { store, storage, schema } = await open();
    await contribute(store, 'm1', 100);
    await contribute(store, 'm2', 50);
    const effects: string[] = [];
    const v1 = await startProjections({ store, storage, projections: [balances(1, effects)] });
    daemons.push(v1);
    await v1.whenLive('balances');
    expect(await readBalances(store)).toEqual([
      { member: 'm1', cents: 100 },
      { member: 'm2', cents: 50 },
    ]);
    await contribute(store, 'm1', 5);
    await until(async () => (await readBalances(store))[0]?.cents === 105, 'the live event');
    await until(() => effects.length === 1, 'the side effect');
    expect(effects).toEqual(['m1']);
    expect(await verifyProjection({ store, storage, projection: balances(1) })).toMatchObject({
      equal: true,
      differences: [],
    });
    await v1.stop();
    daemons.length = 0;

    const v2 = await startProjections({ store, storage, projections: [balances(2, effects)] });
    daemons.push(v2);
    await v2.whenLive('balances');
    expect(await readBalances(store)).toEqual([
      { member: 'm1', cents: 105, count: 2 },
      { member: 'm2', cents: 50, count: 1 },
    ]);
    // The rebuild ran no side effect; the old version's table is gone.
    expect(effects).toEqual(['m1']);
    const tables = await store.pool.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables
       WHERE table_schema = $1 AND table_name LIKE 'p_balances_%' ORDER BY 1`,
      [schema],
    );
    expect(tables.rows.map((r) => r.table_name)).toEqual(['p_balances_v2_balances']);
  });

  it('verify lists the rows of a tampered model', async () => {
    const { store, storage, schema } = await open();
    await contribute(store, 'm1', 10);
    await contribute(store, 'm2', 20);
    const daemon = await startProjections({ store, storage, projections: [balances(1)] });
    daemons.push(daemon);
    await daemon.whenLive('balances');
    await store.pool.query(`DELETE FROM "${schema}".p_balances_v1_balances WHERE member = 'm1'`);
    expect(await verifyProjection({ store, storage, projection: balances(1) })).toEqual({
      name: 'balances',
      version: 1,
      position: expect.any(String) as string,
      equal: false,
      differences: [{ table: 'balances', missing: [{ member: 'm1', cents: 10 }], unexpected: [] }],
    });
  });

  it('repairs a tampered live model in place (a forced rebuild) and drops the shadow', async () => {
    const { store, storage, schema } = await open();
    await contribute(store, 'm1', 10);
    await contribute(store, 'm2', 4);
    const daemon = await startProjections({ store, storage, projections: [balances(1)] });
    await daemon.whenLive('balances');
    await daemon.stop();
    await store.pool.query(`UPDATE "${schema}".p_balances_v1_balances SET cents = 99`);
    const result = await rebuildProjection({
      store,
      storage,
      projection: balances(1),
      force: true,
    });
    expect(result).toMatchObject({ name: 'balances', version: 1, built: true, replaced: null });
    expect(result.repaired).toEqual([
      {
        table: 'balances',
        missing: [
          { member: 'm1', cents: 10 },
          { member: 'm2', cents: 4 },
        ],
        unexpected: [
          { member: 'm1', cents: 99 },
          { member: 'm2', cents: 99 },
        ],
      },
    ]);
    const { rows } = await store.pool.query(
      `SELECT member, cents FROM "${schema}".balances ORDER BY member`,
    );
    expect(rows).toEqual([
      { member: 'm1', cents: 10 },
      { member: 'm2', cents: 4 },
    ]);
    const shadows = await store.pool.query(
      `SELECT tablename FROM pg_tables WHERE schemaname = $1 AND tablename LIKE 'p_balances_v0_%'`,
      [schema],
    );
    expect(shadows.rows).toEqual([]);
    expect((await verifyProjection({ store, storage, projection: balances(1) })).equal).toBe(true);
  });
});
