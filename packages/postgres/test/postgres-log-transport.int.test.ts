import { afterAll } from 'vitest';
import type { Transport } from '@eventfabric/core';
import { describeTransportConformance } from '@eventfabric/conformance';
import { createPostgresEventStore, createPostgresLogTransport, migrate } from '../src/index.js';
import { createPool } from '../src/driver.js';
import { describeWithPostgres, dropSchemas, testSchemaName, TEST_PG_URL } from './pg-available.js';

const schemas = new Set<string>();

// Each test gets a fresh schema; every connection the suite opens is a store with its own
// pool (and LISTEN connection) plus the log transport on it, as a separate process would
// have. Groups are fed from the log by relays, so a group declared late sees earlier events:
// `persistent`. Deliveries are counted in the queue row, so the count survives a crash.
describeWithPostgres('postgres log transport', () => {
  afterAll(() => dropSchemas(schemas));

  describeTransportConformance('postgres-log', {
    setup: async () => {
      const schema = testSchemaName('ef_log');
      schemas.add(schema);
      const admin = createPool({ connectionString: TEST_PG_URL, max: 1 });
      try {
        await migrate(admin, schema);
      } finally {
        await admin.end();
      }
      return {
        create: async ({ drainTimeoutMs }): Promise<Transport> => {
          const store = await createPostgresEventStore({
            connectionString: TEST_PG_URL,
            schema,
            poolSize: 4,
            migrate: false,
            allowForeignTypes: true,
          });
          const transport = await createPostgresLogTransport({
            store,
            drainTimeoutMs,
            relayLeaseMs: 1000,
          });
          return {
            publish: (events) => transport.publish(events),
            subscribe: (group, handler, options) => transport.subscribe(group, handler, options),
            close: async () => {
              await transport.close();
              await store.close();
            },
          };
        },
      };
    },
    features: {
      persistent: true,
      guaranteedOrder: true,
      nackDelay: true,
      deliveryCountAcrossCrashes: true,
      stress: true,
    },
  });
});
