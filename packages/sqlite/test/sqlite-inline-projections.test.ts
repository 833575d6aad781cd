import type Database from 'better-sqlite3';
import { describeInlineProjectionConformance } from '@eventfabric/conformance';
import {
  createSqliteEventStore,
  createSqliteInlineProjector,
  SqliteProjectionStorage,
} from '../src/index.js';
import { tempDbPath } from './fixtures/transport-helpers.js';

describeInlineProjectionConformance<Database.Database>('sqlite', {
  create: async () => {
    const store = createSqliteEventStore({ path: tempDbPath('ef-inline-') });
    return {
      store,
      storage: new SqliteProjectionStorage(store),
      projector: (projections) => createSqliteInlineProjector(store, projections),
      // The suite's `$n` parameters appear once each, in order.
      exec: async (tx, sql, params) => {
        tx.prepare(sql.replace(/\$\d+/g, '?')).run(...params);
      },
      query: async (sql) => store.db.prepare(sql).all() as Record<string, unknown>[],
      storeTable: (name) => name,
      close: () => store.close(),
    };
  },
});
