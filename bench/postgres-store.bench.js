// postgres.*: PostgresEventStore against hand-written node-postgres doing the same work in
// the same run. Every side gets its own fresh schema (ef_bench_<random>_<side>) created by
// the store's own migrate(), so tables, indexes and the events_in_flight trigger match; the
// schemas are dropped afterwards. Appends compare against raw INSERTs both with the store's
// trigger (the baseline: it is part of the table definition) and without it (reported).
// EF_BENCH_PG_URL overrides the server.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createEvent, streamCategory } from '@eventfabric/core';
import { createPostgresEventStore, migrate } from '@eventfabric/postgres';
import { median, quantile } from './lib/measure.js';

const URL = process.env.EF_BENCH_PG_URL ?? 'postgres://root@127.0.0.1:5432/test';
const ROUNDS = 5;
const COLUMNS = 'event_id, stream_id, stream_version, type, category, correlation_id, body';

function makeEvents(stream, count, from = 0) {
  return Array.from({ length: count }, (_, i) =>
    createEvent({
      type: 'bench.contribution.approved.v1',
      source: '/bench',
      subject: stream,
      data: {
        contributionId: `${stream}-${from + i}`,
        memberId: 'member-7',
        amountCents: 12500 + i,
        note: 'approved',
      },
    }),
  );
}

/** The values of one raw row, as the store would write it. */
function rowValues(stream, version, event) {
  return [
    event.id,
    stream,
    version,
    event.type,
    streamCategory(stream),
    event.correlationid,
    JSON.stringify(event),
  ];
}

/** `($1, …, $7), ($8, …)`: a multi-row VALUES list for `rows` rows. */
function valuesList(rows) {
  const width = 7;
  return Array.from(
    { length: rows },
    (_, r) => `(${Array.from({ length: width }, (_, c) => `$${r * width + c + 1}`).join(', ')})`,
  ).join(', ');
}

/**
 * Fresh schemas for one benchmark: `ours` for the store, `raw` (the store's migration, with
 * its trigger) and `bare` (the same migration, trigger dropped) for node-postgres.
 */
async function withSchemas(poolSize, body) {
  const base = `ef_bench_${randomBytes(4).toString('hex')}`;
  const names = { ours: `${base}_ours`, raw: `${base}_raw`, bare: `${base}_bare` };
  const admin = new pg.Pool({ connectionString: URL, max: 1 });
  const raw = new pg.Pool({ connectionString: URL, max: poolSize });
  let store;
  try {
    await migrate(admin, names.raw);
    await migrate(admin, names.bare);
    await admin.query(`DROP TRIGGER events_in_flight ON ${names.bare}.events`);
    store = await createPostgresEventStore({
      connectionString: URL,
      schema: names.ours,
      poolSize,
    });
    return await body({ store, raw, admin, names });
  } finally {
    await store?.close();
    await raw.end();
    for (const name of Object.values(names))
      await admin.query(`DROP SCHEMA IF EXISTS ${name} CASCADE`);
    await admin.end();
  }
}

function note(text) {
  process.stdout.write(`(${text}) `);
}

// postgres.append.batch100: 100 appends of 100 events to one stream, each expecting the
// version the previous left, against a raw 100-row INSERT per statement (autocommit).
async function appendBatch100() {
  const batches = 100;
  const size = 100;
  return withSchemas(2, async ({ store, raw, names }) => {
    const fixtures = (stream) =>
      Array.from({ length: batches }, (_, b) => makeEvents(stream, size, b * size));
    const text = (schema) => `INSERT INTO ${schema}.events (${COLUMNS}) VALUES ${valuesList(size)}`;
    const rawSide = (schema) => async (round) => {
      const stream = `bench-${round}`;
      const data = fixtures(stream);
      const started = process.hrtime.bigint();
      for (let b = 0; b < batches; b++) {
        await raw.query({
          name: `raw-batch-${schema}`,
          text: text(schema),
          values: data[b].flatMap((e, i) => rowValues(stream, b * size + i, e)),
        });
      }
      return timed(started, batches * size);
    };
    const result = await alternateTimed({
      raw: rawSide(names.raw),
      bare: rawSide(names.bare),
      ours: async (round) => {
        const stream = `bench-${round}`;
        const data = fixtures(stream);
        const started = process.hrtime.bigint();
        for (let b = 0; b < batches; b++) {
          const expectedVersion = b === 0 ? 'no_stream' : b * size - 1;
          await store.appendToStream(stream, data[b], { expectedVersion });
        }
        return timed(started, batches * size);
      },
    });
    note(`raw without trigger ${Math.round(result.bare)} ev/s`);
    return { ours: result.ours, baseline: result.raw, bare: result.bare };
  });
}

// postgres.append.single.c16: 16 loops over a pool of 16, each appending single events to
// its own stream, against raw single-row INSERTs (autocommit: INSERT + COMMIT in one round
// trip, as the store's one statement is) at the same concurrency.
async function appendSingleC16() {
  const loops = 16;
  const perLoop = 250; // 4 000 appends per side per round
  return withSchemas(loops, async ({ store, raw, names }) => {
    const latencies = [];
    const fixtures = (round) =>
      Array.from({ length: loops }, (_, l) => makeEvents(`bench-${round}-${l}`, perLoop));
    const concurrently = (fn) =>
      Promise.all(Array.from({ length: loops }, (_, l) => fn(l))).then(() => loops * perLoop);
    const rawSide = (schema) => async (round) => {
      const data = fixtures(round);
      const started = process.hrtime.bigint();
      await concurrently(async (l) => {
        const stream = `bench-${round}-${l}`;
        for (let v = 0; v < perLoop; v++) {
          await raw.query({
            name: `raw-single-${schema}`,
            text: `INSERT INTO ${schema}.events (${COLUMNS}) VALUES ${valuesList(1)}`,
            values: rowValues(stream, v, data[l][v]),
          });
        }
      });
      return timed(started, loops * perLoop);
    };
    const result = await alternateTimed({
      raw: rawSide(names.raw),
      bare: rawSide(names.bare),
      ours: async (round) => {
        const data = fixtures(round);
        const started = process.hrtime.bigint();
        await concurrently(async (l) => {
          const stream = `bench-${round}-${l}`;
          for (let v = 0; v < perLoop; v++) {
            const t0 = process.hrtime.bigint();
            await store.appendToStream(stream, [data[l][v]], {
              expectedVersion: v === 0 ? 'no_stream' : v - 1,
            });
            latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
          }
        });
        return timed(started, loops * perLoop);
      },
    });
    note(`raw without trigger ${Math.round(result.bare)} ev/s`);
    return {
      ours: result.ours,
      baseline: result.raw,
      bare: result.bare,
      p50: quantile(latencies, 0.5),
      p99: quantile(latencies, 0.99),
    };
  });
}

// postgres.catchup: read 20 000 stored events to a no-op handler with store.readAll pages
// of 1000, against a raw keyset loop over an identical copy of the rows that JSON.parses
// each body (the store parses too).
async function catchup() {
  const total = 20_000;
  const page = 1000;
  return withSchemas(2, async ({ store, raw, admin, names }) => {
    for (let b = 0; b < total / page; b++) {
      const stream = `bench-${b % 20}`;
      await store.appendToStream(stream, makeEvents(stream, page, b * page));
    }
    // The same rows, positions included, in the raw schema; then both settle alike.
    await admin.query(
      `INSERT INTO ${names.bare}.events SELECT * FROM ${names.ours}.events ORDER BY position`,
    );
    for (const name of [names.ours, names.bare]) await admin.query(`VACUUM ANALYZE ${name}.events`);
    let handled = 0;
    const handler = () => {
      handled++;
    };
    const result = await alternateTimed({
      raw: async () => {
        const started = process.hrtime.bigint();
        let after = '0';
        let count = 0;
        for (;;) {
          const { rows } = await raw.query({
            name: 'raw-catchup',
            text: `SELECT position, body FROM ${names.bare}.events WHERE position > $1 ORDER BY position LIMIT ${page}`,
            values: [after],
          });
          for (const row of rows) handler(JSON.parse(row.body));
          count += rows.length;
          if (rows.length < page) break;
          after = rows[rows.length - 1].position;
        }
        return timed(started, count);
      },
      ours: async () => {
        const started = process.hrtime.bigint();
        let after = '0';
        let count = 0;
        for (;;) {
          const events = await store.readAll({ after, limit: page });
          for (const event of events) handler(event);
          count += events.length;
          if (events.length < page) break;
          after = events[events.length - 1].position;
        }
        return timed(started, count);
      },
    });
    if (handled !== total * ROUNDS * 2) throw new Error(`handled ${handled} events`);
    return { ours: result.ours, baseline: result.raw };
  });
}

/** Sides that time themselves (fixtures built outside the clock); returns median ev/s. */
async function alternateTimed(sides) {
  const rates = Object.fromEntries(Object.keys(sides).map((k) => [k, []]));
  const keys = Object.keys(sides);
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k < keys.length; k++) {
      const key = keys[(round + k) % keys.length];
      rates[key].push(await sides[key](round));
    }
  }
  return Object.fromEntries(keys.map((k) => [k, median(rates[k])]));
}

function timed(started, ops) {
  return ops / (Number(process.hrtime.bigint() - started) / 1e9);
}

export const benchmarks = [
  { id: 'postgres.append.batch100', unit: 'ev/s', goal: 0.7, run: appendBatch100 },
  { id: 'postgres.append.single.c16', unit: 'ev/s', goal: 0.8, run: appendSingleC16 },
  { id: 'postgres.catchup', unit: 'ev/s', goal: 0.8, run: catchup },
];
