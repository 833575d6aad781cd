import { execFile } from 'node:child_process';
import { connect as netConnect } from 'node:net';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { connect } from 'amqplib';
import { describe } from 'vitest';
import { deadLetterQueueName, DEFAULT_RETRY_DELAYS_MS, retryQueueName } from '../src/index.js';

/** Where integration tests find RabbitMQ; override with EVENTFABRIC_TEST_AMQP_URL. */
export const TEST_AMQP_URL =
  process.env.EVENTFABRIC_TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

async function probe(): Promise<string | undefined> {
  try {
    const model = await connect(TEST_AMQP_URL, { timeout: 3000 });
    await model.close();
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

const unreachable = await probe();

/**
 * `describe` when RabbitMQ answers. Otherwise, on a developer's machine, a loud warning and a
 * skipped block whose title says why; in CI (`CI=true`), a thrown error, so the suite fails
 * instead of passing empty.
 */
export function describeWithRabbitMq(name: string, body: () => void): void {
  if (unreachable === undefined) {
    describe(name, body);
    return;
  }
  const reason = `RabbitMQ unreachable at ${TEST_AMQP_URL}: ${unreachable}`;
  if (process.env.CI === 'true') throw new Error(`${name}: ${reason} (CI=true: failing)`);
  console.warn(`\n⚠ SKIPPING "${name}": ${reason}\n`);
  describe.skip(`${name} (skipped: ${reason})`, body);
}

/** A fresh lower-case suffix, unique per call, for exchange, queue and type names. */
export function uniqueSuffix(): string {
  return randomBytes(6).toString('hex');
}

/**
 * Delete queues and exchanges a test declared; best-effort (one channel per name, since a
 * failed delete closes its channel).
 */
export async function deleteTopology(names: {
  queues?: Iterable<string>;
  exchanges?: Iterable<string>;
}): Promise<void> {
  const model = await connect(TEST_AMQP_URL);
  try {
    for (const queue of names.queues ?? []) {
      const channel = await model.createChannel();
      channel.on('error', () => undefined);
      await channel.deleteQueue(queue).catch(() => undefined);
      await channel.close().catch(() => undefined);
    }
    for (const exchange of names.exchanges ?? []) {
      const channel = await model.createChannel();
      channel.on('error', () => undefined);
      await channel.deleteExchange(exchange).catch(() => undefined);
      await channel.close().catch(() => undefined);
    }
  } finally {
    await model.close().catch(() => undefined);
  }
}

const run = promisify(execFile);

async function portAnswers(): Promise<boolean> {
  const url = new URL(TEST_AMQP_URL);
  return new Promise((resolve) => {
    const socket = netConnect({ host: url.hostname, port: Number(url.port || 5672) });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Wait until an AMQP connection succeeds (the port opens before the broker accepts logins). */
export async function waitForBroker(timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if ((await portAnswers()) && (await probe()) === undefined) return;
    if (Date.now() > deadline) throw new Error(`RabbitMQ did not come back in ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * Restart the broker's application (`rabbitmqctl stop_app` / `start_app`): every connection
 * is dropped, durable queues and their persistent messages survive. Always starts it again,
 * and waits until it accepts connections.
 */
export async function restartRabbitMq(): Promise<void> {
  try {
    await run('rabbitmqctl', ['stop_app'], { timeout: 60_000 });
  } finally {
    await run('rabbitmqctl', ['start_app'], { timeout: 120_000 });
    await waitForBroker();
  }
}

/** The queues a group declares with the default retry steps. */
export function queuesOf(group: string): string[] {
  return [
    group,
    deadLetterQueueName(group),
    ...DEFAULT_RETRY_DELAYS_MS.map((d) => retryQueueName(group, d)),
  ];
}
