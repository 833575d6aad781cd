import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createConnection } from 'node:net';
import { promisify } from 'node:util';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { describe } from 'vitest';

/** Where integration tests find NATS with JetStream; override with EVENTFABRIC_TEST_NATS_URL. */
export const TEST_NATS_URL = process.env.EVENTFABRIC_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';

async function probe(): Promise<string | undefined> {
  try {
    const nc = await connect({ servers: TEST_NATS_URL, timeout: 3000 });
    try {
      await (await jetstreamManager(nc)).getAccountInfo();
      return undefined;
    } finally {
      await nc.close();
    }
  } catch (error) {
    return (error as Error).message;
  }
}

const unreachable = await probe();

/**
 * `describe` when NATS with JetStream answers. Otherwise, on a developer's machine, a loud
 * warning and a skipped block whose title says why; in CI (`CI=true`), a thrown error.
 */
export function describeWithNats(name: string, body: () => void): void {
  if (unreachable === undefined) {
    describe(name, body);
    return;
  }
  const reason = `NATS JetStream unreachable at ${TEST_NATS_URL}: ${unreachable}`;
  if (process.env.CI === 'true') throw new Error(`${name}: ${reason} (CI=true: failing)`);
  console.warn(`\n⚠ SKIPPING "${name}": ${reason}\n`);
  describe.skip(`${name} (skipped: ${reason})`, body);
}

/** A fresh lower-case token, unique per call: contexts, groups and prefixes of one test. */
export function uniqueToken(prefix = 't'): string {
  return `${prefix}${randomBytes(6).toString('hex')}`;
}

/**
 * Delete every stream whose name starts with one of `prefixes` (and so their consumers).
 * Best-effort: a test that stopped the server may leave it restarting.
 */
export async function deleteStreams(prefixes: Iterable<string>): Promise<void> {
  const wanted = [...prefixes];
  if (wanted.length === 0) return;
  const nc = await connect({ servers: TEST_NATS_URL });
  try {
    const jsm = await jetstreamManager(nc);
    for await (const name of jsm.streams.names()) {
      if (wanted.some((prefix) => name.startsWith(prefix))) await jsm.streams.delete(name);
    }
  } finally {
    await nc.close();
  }
}

const run = promisify(execFile);
const NATS_SERVER = '/usr/sbin/nats-server';
const START_ARGS = [
  '--start',
  '--oknodo',
  '--background',
  '--exec',
  NATS_SERVER,
  '--',
  '-a',
  '127.0.0.1',
  '-p',
  '4222',
  '-js',
  '-sd',
  '/var/lib/nats-server',
  '-l',
  '/var/log/nats-server.log',
];

/** Start the local nats-server with DEVELOPERS.md's command (idempotent), then wait for its port. */
export async function startNatsServer(): Promise<void> {
  await run('start-stop-daemon', START_ARGS);
  await waitForPort(4222, true);
}

/** Stop the local nats-server and wait until its port is closed. */
export async function stopNatsServer(): Promise<void> {
  await run('start-stop-daemon', ['--stop', '--oknodo', '--retry', '10', '--exec', NATS_SERVER]);
  await waitForPort(4222, false);
}

/** Stop and start the local nats-server; resolves once it accepts connections again. */
export async function restartNatsServer(): Promise<void> {
  try {
    await stopNatsServer();
  } finally {
    await startNatsServer();
  }
}

async function waitForPort(port: number, open: boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const answered = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (answered === open) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`port ${port} did not ${open ? 'open' : 'close'} within ${timeoutMs} ms`);
}
