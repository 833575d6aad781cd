import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeEventStoreConformance } from '@eventfabric/conformance';
import { createSqliteEventStore, type SqliteEventStore } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'ef-sqlite-conformance-'));
let n = 0;

// Each store gets its own file. `reopen` opens a second connection on the same file, which
// is what a second process does; real child processes are in sqlite-crash.test.ts.
describeEventStoreConformance('sqlite', {
  create: (options) => createSqliteEventStore({ ...options, path: join(dir, `store-${n++}.db`) }),
  reopen: (store) => createSqliteEventStore({ path: (store as SqliteEventStore).db.name }),
  features: { durableAcrossReopen: true, multiProcess: true },
});
