import { describeTransportConformance } from '@eventfabric/conformance';
import {
  createSqliteEventStore,
  createSqliteTransport,
  type SqliteEventStore,
} from '../src/index.js';
import { tempDbPath } from './fixtures/transport-helpers.js';

// Each test gets its own database file; each connection the suite opens is a store and a
// transport of its own on that file, as a separate process would have. Child processes and
// SIGKILL are in sqlite-transport-crash.test.ts.
describeTransportConformance('sqlite', {
  setup: () => {
    const path = tempDbPath('ef-transport-conformance-');
    const stores: SqliteEventStore[] = [];
    return {
      create: (options) => {
        const store = createSqliteEventStore({ path });
        stores.push(store);
        return createSqliteTransport({ store, drainTimeoutMs: options.drainTimeoutMs });
      },
      teardown: async () => {
        await Promise.all(stores.map((store) => store.close()));
      },
    };
  },
  features: {
    persistent: true,
    guaranteedOrder: true,
    nackDelay: true,
    stress: true,
    deliveryCountAcrossCrashes: true,
  },
});
