import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { createEvent } from '@eventfabric/core';
import {
  createSqliteDeadLetterStore,
  createSqliteEventStore,
  createSqliteTransport,
} from '../src/index.js';

const app = fileURLToPath(new URL('./fixtures/exactly-once-consumer.mjs', import.meta.url));

function start(path: string, poisonId = '', workMs = 0): Promise<ChildProcessWithoutNullStreams> {
  const child = spawn(process.execPath, [app, path, poisonId, String(workMs)]);
  return new Promise((resolve, reject) => {
    let errors = '';
    child.stderr.on('data', (c: Buffer) => (errors += c.toString()));
    child.stdout.on('data', (c: Buffer) => c.toString().includes('started') && resolve(child));
    child.on('exit', (code, signal) =>
      reject(new Error(`consumer exited ${code ?? signal}: ${errors}`)),
    );
  });
}

async function kill(child: ChildProcessWithoutNullStreams, signal: NodeJS.Signals): Promise<void> {
  const exited = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  await exited;
}

function effects(path: string): { events: number; overApplied: number } {
  const db = new Database(path, { readonly: true });
  try {
    const exists = db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'effects'").get();
    if (!exists) return { events: 0, overApplied: 0 };
    return db
      .prepare(
        'SELECT count(*) AS events, coalesce(sum(applied > 1), 0) AS overApplied FROM effects',
      )
      .get() as { events: number; overApplied: number };
  } finally {
    db.close();
  }
}

async function until(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function publish(path: string, count: number, poison = false): Promise<string | undefined> {
  const store = createSqliteEventStore({ path });
  const transport = createSqliteTransport({ store });
  const events = Array.from({ length: count }, (_, i) =>
    createEvent({
      type: 'crash.contribution.approved.v1',
      source: '/t',
      subject: `contribution-${i % 97}`,
      data: { member: `m${i % 13}` },
    }),
  );
  for (let i = 0; i < events.length; i += 500) await transport.publish(events.slice(i, i + 500));
  await transport.close();
  await store.close();
  return poison ? events[Math.floor(count / 2)]!.id : undefined;
}

describe('consumer framework on the embedded transport, with real processes', () => {
  it('given 5 000 events and a consumer killed with SIGKILL three times, then every effect is applied exactly once and nothing is dead-lettered', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'ef-consumer-crash-')), 'app.db');
    await publish(path, 5000);
    let child = await start(path);
    for (let kill_ = 0; kill_ < 3; kill_++) {
      const before = effects(path).events;
      // Kill at a random point once it has made some progress since the last restart.
      await until(
        () => effects(path).events > before + 50 + Math.floor(Math.random() * 400),
        30_000,
        'progress',
      );
      await kill(child, 'SIGKILL');
      child = await start(path);
    }
    await until(() => effects(path).events === 5000, 60_000, 'all 5 000 effects');
    await kill(child, 'SIGTERM');
    expect(effects(path)).toEqual({ events: 5000, overApplied: 0 });
    const store = createSqliteEventStore({ path });
    expect(
      (await createSqliteDeadLetterStore(store).list()).map((d) => [
        d.reason,
        d.attempts,
        d.error.message,
        d.error.code,
        d.error.stack,
      ]),
    ).toEqual([]);
    await store.close();
  }, 120_000);

  it('given one poison event among 1 000, then it is dead-lettered with its context and the other 999 are applied once', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'ef-consumer-poison-')), 'app.db');
    const poisonId = (await publish(path, 1000, true))!;
    const child = await start(path, poisonId);
    const store = createSqliteEventStore({ path });
    const deadLetters = createSqliteDeadLetterStore(store);
    await until(() => effects(path).events === 999, 30_000, '999 effects');
    await until(() => deadLetterCount(path) === 1, 30_000, 'the dead letter');
    await kill(child, 'SIGTERM');
    expect(effects(path)).toEqual({ events: 999, overApplied: 0 });
    const [entry] = await deadLetters.list();
    expect(entry).toMatchObject({
      handler: 'ledger',
      group: 'crash.ledger',
      reason: 'exhausted',
      attempts: 5,
      event: { id: poisonId },
      error: { code: 'HANDLER_FAILED', message: 'this contribution cannot be posted' },
    });
    expect(entry!.error.stack).toContain('exactly-once-consumer.mjs');
    await store.close();
  }, 60_000);
});

function deadLetterCount(path: string): number {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare('SELECT count(*) FROM dead_letters').pluck().get() as number;
  } finally {
    db.close();
  }
}
