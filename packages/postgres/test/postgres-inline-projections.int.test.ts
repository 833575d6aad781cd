import { afterAll } from 'vitest';
import { describeInlineProjectionConformance } from '@eventfabric/conformance';
import {
  createPostgresInlineProjector,
  PostgresProjectionStorage,
  type PostgresTransaction,
} from '../src/index.js';
import { describeWithPostgres, freshStores } from './pg-available.js';

const stores = freshStores('ef_inline');

describeWithPostgres('inline projections on PostgreSQL', () => {
  afterAll(() => stores.cleanup());

  describeInlineProjectionConformance<PostgresTransaction>('postgres', {
    create: async () => {
      const store = await stores.open();
      const schema = `"${store.schema}"`;
      return {
        store,
        storage: new PostgresProjectionStorage(store),
        projector: (projections) => createPostgresInlineProjector(store, projections),
        exec: async (tx, sql, params) => {
          await tx.query(sql, params);
        },
        // Views resolve in the store's schema; integers come back as numbers.
        query: async (sql) => {
          const client = await store.pool.connect();
          try {
            await client.query(`SET search_path TO ${schema}`);
            const { rows } = await client.query(sql);
            return rows.map((row: Record<string, unknown>) =>
              Object.fromEntries(
                Object.entries(row).map(([k, v]) => [
                  k,
                  typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v,
                ]),
              ),
            );
          } finally {
            await client.query('RESET search_path');
            client.release();
          }
        },
        storeTable: (name) => `${schema}.${name}`,
        close: async () => undefined,
      };
    },
  });
});
