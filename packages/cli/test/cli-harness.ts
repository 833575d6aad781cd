import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createSqliteEventStore } from '@eventfabric/sqlite';

/** The built CLI: `npm test` builds before vitest runs. */
export const CLI_BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));

/** What one CLI run produced. */
export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunCliOptions {
  cwd: string;
  /** Written to stdin, then stdin is closed. An array is written chunk by chunk. */
  input?: string | string[];
  /** Pause between input chunks, so the CLI sees a slow pipe. @defaultValue 0 */
  chunkDelayMs?: number;
  env?: Record<string, string>;
}

/** Start the CLI as a child process, with an environment free of EventFabric settings. */
export function spawnCli(
  args: string[],
  options: Pick<RunCliOptions, 'cwd' | 'env'>,
): ChildProcessWithoutNullStreams {
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env };
  if (options.env?.EVENTFABRIC_STORE === undefined) delete env.EVENTFABRIC_STORE;
  return spawn(process.execPath, [CLI_BIN, ...args], { cwd: options.cwd, env });
}

/** Run the CLI to its end and collect its exit code and output. */
export async function runCli(args: string[], options: RunCliOptions): Promise<CliResult> {
  const child = spawnCli(args, options);
  const result = collect(child);
  const chunks = typeof options.input === 'string' ? [options.input] : (options.input ?? []);
  // A CLI that fails before reading stdin closes the pipe; that is not a test failure.
  child.stdin.on('error', () => undefined);
  for (const chunk of chunks) {
    child.stdin.write(chunk);
    if (options.chunkDelayMs) await sleep(options.chunkDelayMs);
  }
  child.stdin.end();
  return result;
}

/** Collect a child's output until it exits. */
export function collect(child: ChildProcessWithoutNullStreams): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A fresh temporary directory, and a function that removes it. */
export function tempDir(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'eventfabric-cli-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Open a store file directly and report its head position and one stream's version. */
export async function inspectStore(
  path: string,
  streamId?: string,
): Promise<{ head: string; streamVersion: number | undefined }> {
  const store = createSqliteEventStore({ path });
  try {
    return {
      head: await store.headPosition(),
      streamVersion: streamId === undefined ? undefined : await store.streamVersion(streamId),
    };
  } finally {
    await store.close();
  }
}

/** A CloudEvent as an NDJSON line. */
export function eventLine(overrides: Record<string, unknown> = {}): string {
  return `${JSON.stringify({
    specversion: '1.0',
    id: `evt-${Math.random().toString(36).slice(2)}`,
    type: 'agreements.contribution.submitted.v1',
    source: '/tests/cli',
    data: { contributionId: '42', memberId: 'm-7', amount: 25 },
    ...overrides,
  })}\n`;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Read until `done` holds, every 50 ms; throws naming `what` and the last value after `ms`. */
export async function until<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  what: string,
  ms = 20_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value)}`);
    await sleep(50);
  }
}

/** The schema of `agreements.contribution.submitted.v1` the tests validate against. */
export const CONTRIBUTION_SUBMITTED_SCHEMA = {
  type: 'object',
  required: ['contributionId', 'memberId', 'amount'],
  properties: {
    contributionId: { type: 'string' },
    memberId: { type: 'string' },
    amount: { type: 'number' },
  },
};

/** Lay out `<dir>/schemas/agreements/contribution.submitted.v1.json`, loaded by default. */
export function writeSchemas(dir: string): void {
  const folder = join(dir, 'schemas', 'agreements');
  mkdirSync(folder, { recursive: true });
  writeFileSync(
    join(folder, 'contribution.submitted.v1.json'),
    JSON.stringify(CONTRIBUTION_SUBMITTED_SCHEMA),
  );
}

/** The types of the schemas stored in a store file, in registration order. */
export async function storedSchemaTypes(path: string): Promise<string[]> {
  const store = createSqliteEventStore({ path });
  try {
    return (await store.loadSchemas()).map((r) => `${r.base}.v${r.version}`);
  } finally {
    await store.close();
  }
}

/** Seed a store file with events, in-process: faster than a CLI run. */
export async function seedStore(path: string, streamId: string, lines: string[]): Promise<void> {
  const store = createSqliteEventStore({ path });
  try {
    await store.appendToStream(
      streamId,
      lines.map((line) => JSON.parse(line) as unknown),
    );
  } finally {
    await store.close();
  }
}

/** The message V8 gives for `JSON.parse(text)`, which the CLI quotes. */
export function jsonParseMessage(text: string): string {
  try {
    JSON.parse(text);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error(`${text} is valid JSON`);
}
