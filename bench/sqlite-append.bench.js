// sqlite.append.*: SqliteEventStore.appendToStream against raw better-sqlite3 inserting the
// same rows (same table, indexes and pragmas: WAL, synchronous=FULL) in the same run.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createEvent } from '@eventfabric/core';
import { createSqliteEventStore, migrate } from '@eventfabric/sqlite';
import { compareRates } from './lib/measure.js';

const dir = mkdtempSync(join(tmpdir(), 'ef-bench-sqlite-'));
let files = 0;

function makeEvents(stream, count) {
  return Array.from({ length: count }, (_, i) =>
    createEvent({
      type: 'bench.contribution.approved.v1',
      source: '/bench',
      subject: stream,
      data: {
        contributionId: `${stream}-${i}`,
        memberId: 'member-7',
        amountCents: 12500 + i,
        note: 'approved',
      },
    }),
  );
}

function rawStore() {
  const db = new Database(join(dir, `raw-${files++}.db`));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  migrate(db);
  const insert = db.prepare(
    `INSERT INTO events (event_id, stream_id, stream_version, type, category, correlation_id, recorded_at, body)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const append = db.transaction((stream, events, first) => {
    const now = Date.now();
    events.forEach((e, i) =>
      insert.run(e.id, stream, first + i, e.type, 'bench', e.correlationid, now, JSON.stringify(e)),
    );
  });
  return { db, append: (stream, events, first) => append.immediate(stream, events, first) };
}

function scenario(batchSize, batches) {
  return async () => {
    // Every batch goes to one stream, each append expecting the version the last one left.
    const stream = 'bench-1';
    const fixtures = () => Array.from({ length: batches }, () => makeEvents(stream, batchSize));
    const result = await compareRates({
      rounds: 5,
      baseline: async () => {
        const raw = rawStore();
        const data = fixtures();
        for (let b = 0; b < batches; b++) raw.append(stream, data[b], b * batchSize);
        raw.db.close();
        return batches * batchSize;
      },
      ours: async () => {
        const store = createSqliteEventStore({ path: join(dir, `ours-${files++}.db`) });
        const data = fixtures();
        for (let b = 0; b < batches; b++) {
          const expectedVersion = b === 0 ? 'no_stream' : b * batchSize - 1;
          await store.appendToStream(stream, data[b], { expectedVersion });
        }
        await store.close();
        return batches * batchSize;
      },
    });
    return result;
  };
}

export const benchmarks = [
  { id: 'sqlite.append.batch100', unit: 'ev/s', goal: 0.6, run: scenario(100, 200) },
  { id: 'sqlite.append.single', unit: 'ev/s', goal: 0.5, run: scenario(1, 1500) },
];

process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
