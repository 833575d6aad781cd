import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { openPostgresBackend } from '@eventfabric/habitat';
import { mountHabitat, type Running } from './harness.js';
import { onPostgres, sagaSuite } from './saga-suite.js';
import { copyLog, EXPECTED_BALANCES, Q, runCooperative } from './scenario.js';
import {
  deleteTopology,
  describeWithServices,
  dropSchema,
  TEST_AMQP_URL,
  TEST_PG_URL,
  uniqueSuffix,
} from './services.js';

// One file for every PostgreSQL + RabbitMQ test of Habitat, so they run one after the other
// and the shared context exchanges are deleted once, after the last.
describeWithServices('Habitat on PostgreSQL and RabbitMQ', () => {
  afterAll(() => deleteTopology([], { exchanges: true }));

  describe('the allocation saga compensates, in reverse order, whichever step fails', () =>
    sagaSuite(onPostgres));

  describe('end to end, through GraphQL', () => {
    const cleanup: (() => Promise<void> | void)[] = [];
    afterEach(async () => {
      for (const step of cleanup.reverse()) await step();
      cleanup.length = 0;
    });

    it('registers members, approves contributions, closes a period, pays distributions, and a replay of the log reproduces every balance', async () => {
      const suffix = uniqueSuffix();
      const schema = `habitat_e2e_${suffix}`;
      cleanup.push(() => dropSchema(schema));
      const backend = await openPostgresBackend({
        connectionString: TEST_PG_URL,
        schema,
        amqpUrl: TEST_AMQP_URL,
      });
      cleanup.push(() => backend.close());
      const app: Running = await mountHabitat(backend, { servicePrefix: `t${suffix}` });
      cleanup.push(() =>
        deleteTopology(app.habitat.consumers.flatMap((consumer) => consumer.groups)),
      );
      cleanup.push(() => app.stop());

      await runCooperative(app);
      expect(await app.ok(Q.balances)).toEqual(EXPECTED_BALANCES);

      const replicaSchema = `habitat_replica_${suffix}`;
      cleanup.push(() => dropSchema(replicaSchema));
      const fresh = await openPostgresBackend({
        connectionString: TEST_PG_URL,
        schema: replicaSchema,
        amqpUrl: TEST_AMQP_URL,
      });
      cleanup.push(() => fresh.close());
      const copied = await copyLog(backend, fresh);
      expect(copied).toBe((await backend.store.readAll({ limit: 10_000, raw: true })).length);
      const replica = await mountHabitat(fresh, { mode: 'read-models' });
      cleanup.push(() => replica.stop());
      await replica.habitat.settled();
      expect(await replica.ok(Q.balances)).toEqual(EXPECTED_BALANCES);
    }, 120_000);
  });
});
