// embedded.e2e: append → handled on the embedded transport, with the handler's effect and
// its idempotency record in one transaction per event, against raw better-sqlite3 doing the
// same writes (events in batches of 100, then per event one transaction holding the effect
// and the processed record, and a checkpoint every 100 events), same file settings.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createConsumer, createEvent } from '@eventfabric/core';
import {
  SqliteProcessedEvents,
  createSqliteDeadLetterStore,
  createSqliteEventStore,
  createSqliteTransport,
  migrate,
} from '@eventfabric/sqlite';
import { compareRates, quantile } from './lib/measure.js';

const N = 4000;
const dir = mkdtempSync(join(tmpdir(), 'ef-bench-e2e-'));
let files = 0;
const EFFECTS =
  'CREATE TABLE IF NOT EXISTS effects (event_id TEXT PRIMARY KEY, member TEXT NOT NULL, cents INTEGER NOT NULL)';

function makeEvents() {
  return Array.from({ length: N }, (_, i) =>
    createEvent({
      type: 'bench.contribution.approved.v1',
      source: '/bench',
      subject: `contribution-${i % 200}`,
      data: { member: `m${i % 17}`, cents: 100 + i },
    }),
  );
}

async function raw() {
  const db = new Database(join(dir, `raw-${files++}.db`));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  migrate(db);
  db.exec(EFFECTS);
  db.exec('CREATE TABLE IF NOT EXISTS raw_checkpoint (position INTEGER NOT NULL)');
  db.exec('INSERT INTO raw_checkpoint VALUES (0)');
  const insert = db.prepare(
    `INSERT INTO events (event_id, stream_id, stream_version, type, category, correlation_id, recorded_at, body)
     VALUES (?, ?, (SELECT coalesce(max(stream_version), -1) + 1 FROM events WHERE stream_id = ?), ?, ?, ?, ?, ?)`,
  );
  const effect = db.prepare('INSERT INTO effects VALUES (?, ?, ?)');
  const record = db.prepare(
    'INSERT INTO processed_events (handler, event_id, processed_at) VALUES (?, ?, ?)',
  );
  const checkpoint = db.prepare('UPDATE raw_checkpoint SET position = ?');
  const appendBatch = db.transaction((batch) => {
    for (const e of batch)
      insert.run(
        e.id,
        e.subject,
        e.subject,
        e.type,
        'contribution',
        e.correlationid,
        Date.now(),
        JSON.stringify(e),
      );
  });
  const handle = db.transaction((e) => {
    effect.run(e.id, e.data.member, e.data.cents);
    record.run('ledger', e.id, Date.now());
  });
  const events = makeEvents();
  for (let i = 0; i < N; i += 100) appendBatch.immediate(events.slice(i, i + 100));
  const rows = db.prepare('SELECT position, body FROM events ORDER BY position').all();
  rows.forEach((row, i) => {
    handle.immediate(JSON.parse(row.body));
    if ((i + 1) % 100 === 0) checkpoint.run(row.position);
  });
  db.close();
  return N;
}

async function ours(latencies) {
  const store = createSqliteEventStore({ path: join(dir, `ours-${files++}.db`) });
  store.db.exec(EFFECTS);
  const transport = createSqliteTransport({ store });
  const processed = new SqliteProcessedEvents(store);
  let handled = 0;
  let done;
  const finished = new Promise((r) => (done = r));
  const consumer = createConsumer({
    service: 'bench',
    transport,
    processed,
    deadLetters: createSqliteDeadLetterStore(store),
    concurrency: 4,
    handlers: [
      {
        name: 'ledger',
        on: ['bench.*'],
        transactional: true,
        handle: async (event, ctx) => {
          ctx.tx
            .prepare('INSERT INTO effects VALUES (?, ?, ?)')
            .run(event.id, event.data.member, event.data.cents);
          latencies?.push(Date.now() - Date.parse(event.time));
          if (++handled === N) done();
        },
      },
    ],
  });
  await consumer.start();
  const events = makeEvents();
  for (let i = 0; i < N; i += 100) await transport.publish(events.slice(i, i + 100));
  await finished;
  await consumer.stop();
  await transport.close();
  await store.close();
  return N;
}

export const benchmarks = [
  {
    id: 'embedded.e2e',
    unit: 'ev/s',
    goal: null,
    async run() {
      const result = await compareRates({ rounds: 3, ours: () => ours(), baseline: raw });
      const latencies = [];
      await ours(latencies);
      return { ...result, p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99) };
    },
  },
];

process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
