import { afterAll } from 'vitest';
import { describeSagaConformance, type SagaFixture } from '@eventfabric/conformance';
import {
  createPostgresEventStore,
  PostgresSagaStorage,
  type PostgresEventStore,
} from '../src/index.js';
import { describeWithPostgres, freshStores, TEST_PG_URL } from './pg-available.js';

const stores = freshStores('ef_saga');

describeWithPostgres('sagas on PostgreSQL', () => {
  afterAll(() => stores.cleanup());

  describeSagaConformance('postgres', {
    create: async (): Promise<SagaFixture> => {
      const store = await stores.open();
      return { store, storage: new PostgresSagaStorage(store), close: async () => undefined };
    },
    // Another pool on the same schema: what a second process would have.
    reopen: async (fixture): Promise<SagaFixture> => {
      const store = await createPostgresEventStore({
        connectionString: TEST_PG_URL,
        schema: (fixture.store as PostgresEventStore).schema,
        poolSize: 4,
      });
      return { store, storage: new PostgresSagaStorage(store), close: () => store.close() };
    },
  });
});
