import type Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createEvent,
  createSchemaRegistry,
  defineProjection,
  isEventFabricError,
  startProjections,
  verifyProjection,
  type ProjectionDaemon,
  type ProjectionDefinition,
} from '@eventfabric/core';
import {
  createSqliteEventStore,
  SqliteProjectionStorage,
  type SqliteEventStore,
} from '../src/index.js';
import { tempDbPath } from './fixtures/transport-helpers.js';

type Tx = Database.Database;

const daemons: ProjectionDaemon[] = [];
const stores: SqliteEventStore[] = [];
afterEach(async () => {
  await Promise.all(daemons.splice(0).map((d) => d.stop()));
  await Promise.all(stores.splice(0).map((s) => s.close()));
});

function open(path = tempDbPath('ef-projections-')) {
  const store = createSqliteEventStore({ path });
  stores.push(store);
  return { store, storage: new SqliteProjectionStorage(store), path };
}

async function contribute(store: SqliteEventStore, member: string, cents: number) {
  await store.appendToStream(`member-${member}`, [
    createEvent({
      type: 'treasury.contribution.approved.v1',
      source: '/test',
      subject: `member-${member}`,
      data: { member, cents },
    }),
  ]);
}

/** Balances per member; version 2 counts contributions as well. */
function balances(version: number, extra: Partial<ProjectionDefinition<Tx>> = {}) {
  return defineProjection<Tx>({
    name: 'balances',
    version,
    tables: ['balances'],
    setup({ tx, table }) {
      tx.exec(
        version === 1
          ? `CREATE TABLE ${table('balances')} (member TEXT PRIMARY KEY, cents INTEGER NOT NULL)`
          : `CREATE TABLE ${table('balances')} (member TEXT PRIMARY KEY, cents INTEGER NOT NULL, count INTEGER NOT NULL)`,
      );
    },
    handlers: {
      'treasury.contribution.approved.v1': (event, { tx, table }) => {
        const { member, cents } = event.data as { member: string; cents: number };
        if (version === 1) {
          tx.prepare(
            `INSERT INTO ${table('balances')} (member, cents) VALUES (?, ?)
             ON CONFLICT (member) DO UPDATE SET cents = cents + excluded.cents`,
          ).run(member, cents);
        } else {
          tx.prepare(
            `INSERT INTO ${table('balances')} (member, cents, count) VALUES (?, ?, 1)
             ON CONFLICT (member) DO UPDATE SET cents = cents + excluded.cents, count = count + 1`,
          ).run(member, cents);
        }
      },
    },
    ...extra,
  });
}

function readBalances(db: Tx) {
  return db.prepare('SELECT * FROM balances ORDER BY member').all();
}

async function until(condition: () => boolean | Promise<boolean>, what: string, ms = 5000) {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function start(options: Parameters<typeof startProjections<Tx>>[0]) {
  const daemon = await startProjections(options);
  daemons.push(daemon);
  return daemon;
}

describe('projections on SQLite', () => {
  it('builds a new projection from the log, swaps it in, then follows live events; a restart applies nothing twice', async () => {
    const { store, storage, path } = open();
    await contribute(store, 'm1', 100);
    await contribute(store, 'm2', 50);
    await contribute(store, 'm1', 25);
    const daemon = await start({ store, storage, projections: [balances(1)] });
    await daemon.whenLive('balances');
    expect(readBalances(store.db)).toEqual([
      { member: 'm1', cents: 125 },
      { member: 'm2', cents: 50 },
    ]);
    await contribute(store, 'm2', 5);
    await until(() => (readBalances(store.db)[1] as { cents: number }).cents === 55, 'live event');
    await daemon.stop();
    daemons.length = 0;
    // A second daemon on the same file continues from the checkpoint.
    const again = open(path);
    const second = await start({
      store: again.store,
      storage: again.storage,
      projections: [balances(1)],
    });
    await second.whenLive('balances');
    await contribute(again.store, 'm1', 1);
    await until(
      () => (readBalances(again.store.db)[0] as { cents: number }).cents === 126,
      'the next event',
    );
    expect(readBalances(again.store.db)).toEqual([
      { member: 'm1', cents: 126 },
      { member: 'm2', cents: 55 },
    ]);
    expect(await second.status()).toEqual([
      {
        name: 'balances',
        version: 1,
        mode: 'live',
        position: '5',
        lag: 0,
        lastError: undefined,
      },
    ]);
  });

  it('rebuilds a raised version beside the live one, which serves until the swap; the old tables go', async () => {
    const { store, storage } = open();
    await contribute(store, 'm1', 10);
    await contribute(store, 'm1', 20);
    const v1 = await start({ store, storage, projections: [balances(1)] });
    await v1.whenLive('balances');
    await v1.stop();
    daemons.length = 0;
    // Version 2's first batch waits until released, so the build can be watched.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const v2def = balances(2);
    const slow = defineProjection<Tx>({
      ...v2def,
      handlers: {
        'treasury.contribution.approved.v1': async (event, context) => {
          await gate;
          await v2def.route(event.type).handlers[0]!(event, context);
        },
      },
    });
    const v2 = await start({ store, storage, projections: [slow] });
    expect((await v2.status())[0]!.mode).toBe('building');
    expect(readBalances(store.db)).toEqual([{ member: 'm1', cents: 30 }]);
    release();
    await v2.whenLive('balances');
    expect(readBalances(store.db)).toEqual([{ member: 'm1', cents: 30, count: 2 }]);
    const tables = store.db
      .prepare("SELECT name FROM sqlite_master WHERE name LIKE 'p_balances_%' ORDER BY name")
      .pluck()
      .all();
    expect(tables).toEqual(['p_balances_v2_balances']);
    expect((await storage.state('balances')).versions.map((v) => v.version)).toEqual([2]);
  });

  it('runs side effects for live events only, never for the build', async () => {
    const { store, storage } = open();
    await contribute(store, 'm1', 10);
    const effects: string[] = [];
    const daemon = await start({
      store,
      storage,
      projections: [
        balances(1, {
          sideEffects: {
            'treasury.*': (event) => void effects.push((event.data as { member: string }).member),
          },
        }),
      ],
    });
    await daemon.whenLive('balances');
    await contribute(store, 'm2', 20);
    await contribute(store, 'm3', 30);
    await until(() => effects.length === 2, 'the side effects');
    await new Promise((r) => setTimeout(r, 50));
    expect(effects).toEqual(['m2', 'm3']);
  });

  it('rolls back a failing batch, records the error, and applies it exactly once when the fault clears', async () => {
    const { store, storage } = open();
    let failing = true;
    const def = balances(1);
    const flaky = defineProjection<Tx>({
      ...def,
      handlers: {
        'treasury.contribution.approved.v1': (event, context) => {
          def.route(event.type).handlers[0]!(event, context);
          if (failing && (event.data as { member: string }).member === 'm2')
            throw new Error('disk on fire');
        },
      },
    });
    await contribute(store, 'm1', 10);
    await contribute(store, 'm2', 20);
    const daemon = await start({ store, storage, projections: [flaky], batchSize: 10 });
    await until(async () => (await daemon.status())[0]!.lastError !== undefined, 'the failure');
    const status = (await daemon.status())[0]!;
    expect(status).toMatchObject({
      mode: 'building',
      position: undefined,
      lastError: { message: 'disk on fire', position: '2' },
    });
    expect((await storage.state('balances')).versions[0]!.lastError?.message).toBe('disk on fire');
    // Nothing of the failed batch is visible, not even m1's row.
    expect(store.db.prepare('SELECT count(*) FROM p_balances_v1_balances').pluck().get()).toBe(0);
    failing = false;
    await daemon.whenLive('balances');
    expect(readBalances(store.db)).toEqual([
      { member: 'm1', cents: 10 },
      { member: 'm2', cents: 20 },
    ]);
    expect((await daemon.status())[0]!.lastError).toBeUndefined();
  });

  it('verify reports no difference for an intact model and every differing row for a tampered one', async () => {
    const { store, storage } = open();
    await contribute(store, 'm1', 10);
    await contribute(store, 'm2', 20);
    const def = balances(1);
    const daemon = await start({ store, storage, projections: [def] });
    await daemon.whenLive('balances');
    expect(await verifyProjection({ store, storage, projection: def })).toEqual({
      name: 'balances',
      version: 1,
      position: '2',
      equal: true,
      differences: [],
    });
    store.db.prepare("UPDATE p_balances_v1_balances SET cents = 999 WHERE member = 'm2'").run();
    const report = await verifyProjection({ store, storage, projection: def });
    expect(report).toEqual({
      name: 'balances',
      version: 1,
      position: '2',
      equal: false,
      differences: [
        {
          table: 'balances',
          missing: [{ member: 'm2', cents: 20 }],
          unexpected: [{ member: 'm2', cents: 999 }],
        },
      ],
    });
    // The shadow is gone.
    expect(
      store.db
        .prepare("SELECT count(*) FROM sqlite_master WHERE name LIKE 'p_balances_v0_%'")
        .pluck()
        .get(),
    ).toBe(0);
  });

  it('gives a projection keyed by v2 the stored v1 events too, upcast on read', async () => {
    const registry = await createSchemaRegistry({ defaultCompatibility: 'NONE' });
    const V1 = 'treasury.contribution.approved.v1';
    const V2 = 'treasury.contribution.approved.v2';
    await registry.register(V1, {
      type: 'object',
      properties: { member: { type: 'string' }, cents: { type: 'integer' } },
      required: ['member', 'cents'],
    });
    await registry.register(V2, {
      type: 'object',
      properties: { member: { type: 'string' }, amount: { type: 'integer' } },
      required: ['member', 'amount'],
    });
    registry.registerUpcaster(V1, (data: { member: string; cents: number }) => ({
      member: data.member,
      amount: data.cents,
    }));
    const store = createSqliteEventStore({ path: tempDbPath('ef-upcast-'), schemas: registry });
    stores.push(store);
    const append = (type: string, data: unknown) =>
      store.appendToStream('member-m1', [
        createEvent({ type, source: '/test', subject: 'member-m1', data }),
      ]);
    await append(V1, { member: 'm1', cents: 100 });
    await append(V2, { member: 'm1', amount: 20 });
    const totals = defineProjection<Tx>({
      name: 'totals',
      version: 1,
      tables: ['totals'],
      setup: ({ tx, table }) =>
        void tx.exec(`CREATE TABLE ${table('totals')} (member TEXT PRIMARY KEY, amount INTEGER)`),
      handlers: {
        [V2]: (event, { tx, table }) => {
          const { member, amount } = event.data as { member: string; amount: number };
          tx.prepare(
            `INSERT INTO ${table('totals')} VALUES (?, ?)
             ON CONFLICT (member) DO UPDATE SET amount = amount + excluded.amount`,
          ).run(member, amount);
        },
      },
    });
    expect(totals.typePrefixes).toEqual(['treasury.contribution.approved.v']);
    const daemon = await start({
      store,
      storage: new SqliteProjectionStorage(store),
      projections: [totals],
    });
    await daemon.whenLive('totals');
    expect(store.db.prepare('SELECT * FROM totals').all()).toEqual([{ member: 'm1', amount: 120 }]);
  });

  it('rejects malformed definitions with INVALID_ARGUMENT', () => {
    const good = {
      name: 'ok',
      version: 1,
      tables: ['t'],
      setup: () => undefined,
      handlers: { 'a.b.c.v1': () => undefined },
    };
    const bad: unknown[] = [
      undefined,
      { ...good, name: 'Bad-Name' },
      { ...good, name: 'x'.repeat(25) },
      { ...good, tables: ['t'.repeat(25)] },
      { ...good, version: 0 },
      { ...good, version: 1.5 },
      { ...good, tables: [] },
      { ...good, tables: ['t', 't'] },
      { ...good, tables: ['DROP TABLE x'] },
      { ...good, setup: 'no' },
      { ...good, handlers: {} },
      { ...good, handlers: { 'a.b.c.v1': 'no' } },
      { ...good, handlers: { 'bad pattern!': () => undefined } },
    ];
    for (const definition of bad) {
      let error: unknown;
      try {
        defineProjection(definition as ProjectionDefinition);
      } catch (e) {
        error = e;
      }
      expect(isEventFabricError(error, 'INVALID_ARGUMENT'), JSON.stringify(definition)).toBe(true);
    }
  });
});
