import { afterAll } from 'vitest';
import { describeEventStoreConformance } from '@eventfabric/conformance';
import type { EventStoreFactoryOptions } from '@eventfabric/conformance';
import { createPostgresEventStore, type PostgresEventStore } from '../src/index.js';
import { describeWithPostgres, dropSchemas, testSchemaName, TEST_PG_URL } from './pg-available.js';

const schemas = new Set<string>();
const createdWith = new WeakMap<PostgresEventStore, EventStoreFactoryOptions | undefined>();

// Each store gets its own schema; `reopen` opens a second store (its own pool) on the same
// schema, which is what another process does.
describeWithPostgres('postgres event store', () => {
  afterAll(() => dropSchemas(schemas));

  describeEventStoreConformance('postgres', {
    create: async (options) => {
      const schema = testSchemaName('ef_conf');
      schemas.add(schema);
      const store = await createPostgresEventStore({
        ...options,
        connectionString: TEST_PG_URL,
        schema,
        poolSize: 4,
      });
      createdWith.set(store, options);
      return store;
    },
    reopen: async (store) => {
      const original = store as PostgresEventStore;
      const again = await createPostgresEventStore({
        ...createdWith.get(original),
        connectionString: TEST_PG_URL,
        schema: original.schema,
        poolSize: 4,
      });
      createdWith.set(again, createdWith.get(original));
      return again;
    },
    features: { durableAcrossReopen: true, multiProcess: true },
  });
});
