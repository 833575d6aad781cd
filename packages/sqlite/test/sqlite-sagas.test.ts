import { describeSagaConformance, type SagaFixture } from '@eventfabric/conformance';
import { createSqliteEventStore, SqliteSagaStorage, type SqliteEventStore } from '../src/index.js';
import { tempDbPath } from './fixtures/transport-helpers.js';

// `reopen` builds a second saga storage on the same store: in one process, a SQLite file is
// written through one connection (see ConnectionLock), so that is what a second daemon here
// shares. Across processes, see sqlite-saga-restart.e2e.test.ts.
describeSagaConformance('sqlite', {
  create: async (): Promise<SagaFixture> => {
    const store = await createSqliteEventStore({ path: tempDbPath('ef-saga-') });
    return { store, storage: new SqliteSagaStorage(store), close: () => store.close() };
  },
  reopen: async (fixture) => {
    const store = fixture.store as SqliteEventStore;
    return { store, storage: new SqliteSagaStorage(store), close: async () => undefined };
  },
});
