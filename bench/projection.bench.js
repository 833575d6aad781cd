// projection.rebuild: a projection built from a pre-filled PostgreSQL log, against a raw
// node-postgres loop doing the same reads and writes, in the same run. The log (N events
// over 1 000 members) sits in a fresh schema (ef_bench_<random>), dropped afterwards.
//
// Ours: startProjections with a version not built yet (1, then 2, 3…: each round is a
// blue/green rebuild beside the live version), batches of 500, timed until whenLive (the
// build caught up and was swapped in). Its handler upserts the member's balance row with
// one statement per event through the batch's transaction.
// Raw: keyset pages of 500 from the events table (`SELECT position, body … WHERE position
// > $1 ORDER BY position LIMIT 500`), JSON.parse each body, then per page one transaction
// with the same upsert per event (unnamed, as the handler's are) and a checkpoint UPDATE,
// into a fresh table. EF_BENCH_PG_URL overrides the server.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createEvent, defineProjection, startProjections } from '@eventfabric/core';
import { createPostgresEventStore, PostgresProjectionStorage } from '@eventfabric/postgres';
import { median } from './lib/measure.js';

const URL = process.env.EF_BENCH_PG_URL ?? 'postgres://root@127.0.0.1:5432/test';
const EVENTS = 30_000;
const MEMBERS = 1000;
const BATCH = 500;
const ROUNDS = 3;
const TYPE = 'bench.contribution.approved.v1';

const upsert = (table) =>
  `INSERT INTO ${table} AS b (member, cents, contributions) VALUES ($1, $2, 1)
   ON CONFLICT (member) DO UPDATE SET cents = b.cents + excluded.cents,
   contributions = b.contributions + 1`;
const createTable = (table) =>
  `CREATE TABLE ${table} (member text PRIMARY KEY, cents bigint NOT NULL, contributions integer NOT NULL)`;

function balances(version) {
  return defineProjection({
    name: 'balances',
    version,
    tables: ['balances'],
    setup: async ({ tx, table }) => {
      await tx.query(createTable(table('balances')));
    },
    handlers: {
      [TYPE]: async (event, { tx, table }) => {
        const { memberId, amountCents } = event.data;
        await tx.query(upsert(table('balances')), [memberId, amountCents]);
      },
    },
  });
}

function timed(started, ops) {
  return ops / (Number(process.hrtime.bigint() - started) / 1e9);
}

async function ours(store, storage, version) {
  const started = process.hrtime.bigint();
  const daemon = await startProjections({
    store,
    storage,
    projections: [balances(version)],
    batchSize: BATCH,
  });
  await daemon.whenLive('balances');
  const rate = timed(started, EVENTS);
  await daemon.stop();
  return rate;
}

async function raw(pool, schema, round) {
  const table = `${schema}.raw_balances_${round}`;
  const checkpoint = `${schema}.raw_checkpoint_${round}`;
  await pool.query(createTable(table));
  await pool.query(`CREATE TABLE ${checkpoint} (position bigint)`);
  await pool.query(`INSERT INTO ${checkpoint} VALUES (0)`);
  const client = await pool.connect();
  try {
    const started = process.hrtime.bigint();
    let after = '0';
    let applied = 0;
    for (;;) {
      const { rows } = await client.query({
        name: 'raw-page',
        text: `SELECT position, body FROM ${schema}.events WHERE position > $1 ORDER BY position LIMIT ${BATCH}`,
        values: [after],
      });
      if (rows.length === 0) break;
      await client.query('BEGIN');
      for (const row of rows) {
        const event = JSON.parse(row.body);
        if (event.type !== TYPE) continue;
        await client.query(upsert(table), [event.data.memberId, event.data.amountCents]);
        applied++;
      }
      after = rows[rows.length - 1].position;
      await client.query(`UPDATE ${checkpoint} SET position = $1`, [after]);
      await client.query('COMMIT');
      if (rows.length < BATCH) break;
    }
    const rate = timed(started, applied);
    if (applied !== EVENTS) throw new Error(`raw applied ${applied} of ${EVENTS}`);
    return rate;
  } finally {
    client.release();
  }
}

async function rebuild() {
  const schema = `ef_bench_${randomBytes(4).toString('hex')}_proj`;
  const store = await createPostgresEventStore({ connectionString: URL, schema, poolSize: 4 });
  const pool = new pg.Pool({ connectionString: URL, max: 2 });
  try {
    const events = Array.from({ length: EVENTS }, (_, i) =>
      createEvent({
        type: TYPE,
        source: '/bench',
        subject: `contribution-${i}`,
        data: { contributionId: `c-${i}`, memberId: `member-${i % MEMBERS}`, amountCents: 100 + i },
      }),
    );
    for (let i = 0; i < EVENTS; i += 1000) await store.appendMany(events.slice(i, i + 1000));
    await pool.query(`VACUUM ANALYZE ${schema}.events`);
    const storage = new PostgresProjectionStorage(store);
    const rates = { ours: [], raw: [] };
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? ['raw', 'ours'] : ['ours', 'raw'];
      for (const side of order) {
        rates[side].push(
          side === 'ours' ? await ours(store, storage, round + 1) : await raw(pool, schema, round),
        );
      }
    }
    // Both read models must agree (the last round of each).
    const [a, b] = await Promise.all([
      pool.query(`SELECT member, cents, contributions FROM ${schema}.balances ORDER BY member`),
      pool.query(
        `SELECT member, cents, contributions FROM ${schema}.raw_balances_${ROUNDS - 1} ORDER BY member`,
      ),
    ]);
    if (JSON.stringify(a.rows) !== JSON.stringify(b.rows)) {
      throw new Error('the projection and the raw loop built different balances');
    }
    return { ours: median(rates.ours), baseline: median(rates.raw) };
  } finally {
    await store.close();
    await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await pool.end();
  }
}

export const benchmarks = [{ id: 'projection.rebuild', unit: 'ev/s', goal: null, run: rebuild }];
