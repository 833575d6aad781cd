import { randomBytes } from 'node:crypto';
import { connect, type Channel } from 'amqplib';
import pg from 'pg';
import { describe } from 'vitest';
import {
  deadLetterQueueName,
  DEFAULT_RETRY_DELAYS_MS,
  retryQueueName,
} from '@eventfabric/rabbitmq';

/** Where the integration tests find the services (override with the environment). */
export const TEST_PG_URL =
  process.env.EVENTFABRIC_TEST_PG_URL ?? 'postgres://root@127.0.0.1:5432/test';
export const TEST_AMQP_URL =
  process.env.EVENTFABRIC_TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

async function probe(): Promise<string | undefined> {
  try {
    const client = new pg.Client({ connectionString: TEST_PG_URL, connectionTimeoutMillis: 3000 });
    await client.connect();
    await client.end();
  } catch (error) {
    return `PostgreSQL unreachable at ${TEST_PG_URL}: ${(error as Error).message}`;
  }
  try {
    const model = await connect(TEST_AMQP_URL, { timeout: 3000 });
    await model.close();
  } catch (error) {
    return `RabbitMQ unreachable at ${TEST_AMQP_URL}: ${(error as Error).message}`;
  }
  return undefined;
}

const unreachable = await probe();

/**
 * `describe` when PostgreSQL and RabbitMQ answer; otherwise a loud warning and a skipped
 * block on a developer's machine, and a failure in CI (`CI=true`).
 */
export function describeWithServices(name: string, body: () => void): void {
  if (unreachable === undefined) {
    describe(name, body);
    return;
  }
  if (process.env.CI === 'true') throw new Error(`${name}: ${unreachable} (CI=true: failing)`);
  console.warn(`\n⚠ SKIPPING "${name}": ${unreachable}\n`);
  describe.skip(`${name} (skipped: ${unreachable})`, body);
}

export function uniqueSuffix(): string {
  return randomBytes(5).toString('hex');
}

/**
 * Delete the queues of these consumer groups and, with `exchanges`, Habitat's context
 * exchanges when nothing is bound to them any more (other tests may share the names: do it
 * once, at the end of a file, not between tests).
 */
export async function deleteTopology(
  groups: readonly string[],
  { exchanges = false }: { exchanges?: boolean } = {},
): Promise<void> {
  const model = await connect(TEST_AMQP_URL);
  const attempt = async (work: (channel: Channel) => Promise<unknown>) => {
    const channel = await model.createChannel();
    channel.on('error', () => undefined);
    await work(channel).catch(() => undefined);
    await channel.close().catch(() => undefined);
  };
  try {
    for (const group of groups) {
      for (const queue of [
        group,
        deadLetterQueueName(group),
        ...DEFAULT_RETRY_DELAYS_MS.map((d) => retryQueueName(group, d)),
      ]) {
        await attempt((channel) => channel.deleteQueue(queue));
      }
    }
    for (const exchange of exchanges
      ? ['people.events', 'agreements.events', 'treasury.events']
      : []) {
      await attempt((channel) => channel.deleteExchange(exchange, { ifUnused: true }));
    }
  } finally {
    await model.close().catch(() => undefined);
  }
}

/** Drop a test's schema. */
export async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: TEST_PG_URL });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}
