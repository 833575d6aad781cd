import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createEvent, type EventFabricError, type StoredEvent } from '@eventfabric/core';
import { createSqliteEventStore } from '../src/index.js';
import { inspectStore } from './store-consistency.js';

const worker = fileURLToPath(new URL('./fixtures/append-worker.mjs', import.meta.url));

function tempPath(): string {
  return join(mkdtempSync(join(tmpdir(), 'ef-sqlite-')), 'nested', 'store.db');
}

function event(stream: string, i: number) {
  return createEvent({
    type: 'test.load.appended.v1',
    source: '/t',
    subject: stream,
    data: { batch: `x:${i}`, size: 1, i },
  });
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return (error as EventFabricError).code;
  }
  return undefined;
}

describe('SqliteEventStore', () => {
  it('creates the directory, persists across reopen, and sets WAL with synchronous=FULL', async () => {
    const path = tempPath();
    const store = createSqliteEventStore({ path });
    expect(store.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(store.db.pragma('synchronous', { simple: true })).toBe(2);
    await store.appendToStream('order-1', [event('order-1', 0), event('order-1', 1)]);
    await store.close();
    const reopened = createSqliteEventStore({ path });
    expect(
      (await reopened.readStream('order-1')).map((e) => [e.streamversion, e.position]),
    ).toEqual([
      [0, '1'],
      [1, '2'],
    ]);
    await reopened.close();
  });

  it('rejects bad options and unwritable paths with a code, creating nothing', () => {
    // Tests run as root, where permission bits do not stop writes: a path under a regular
    // file is unwritable for everyone.
    const blocker = join(mkdtempSync(join(tmpdir(), 'ef-sqlite-file-')), 'file');
    writeFileSync(blocker, 'not a directory');
    expect(codeOf(() => createSqliteEventStore({ path: join(blocker, 'store.db') }))).toBe(
      'STORE_UNAVAILABLE',
    );
    expect(codeOf(() => createSqliteEventStore({ path: '' }))).toBe('INVALID_ARGUMENT');
    expect(
      codeOf(() => createSqliteEventStore({ path: ':memory:', synchronous: 'OFF' as 'FULL' })),
    ).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => createSqliteEventStore({ path: ':memory:', busyTimeoutMs: -1 }))).toBe(
      'INVALID_ARGUMENT',
    );
    expect(
      codeOf(() => createSqliteEventStore({ path: ':memory:', limits: { maxEventBytes: 0 } })),
    ).toBe('INVALID_ARGUMENT');
    // A non-SQLite file is refused rather than overwritten.
    expect(codeOf(() => createSqliteEventStore({ path: blocker }))).toBe('STORE_UNAVAILABLE');
  });

  it('given two store instances on one file in one process, then concurrent appends keep versions contiguous', async () => {
    const path = tempPath();
    const a = createSqliteEventStore({ path });
    const b = createSqliteEventStore({ path });
    const outcomes = await Promise.allSettled(
      Array.from({ length: 40 }, (_, i) =>
        (i % 2 ? a : b).appendToStream('shared-1', [event('shared-1', i)]),
      ),
    );
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(40);
    expect((await a.readStream('shared-1')).map((e) => e.streamversion)).toEqual([
      ...Array(40).keys(),
    ]);
    await Promise.all([a.close(), b.close()]);
    expect(inspectStore(path)).toMatchObject({ integrity: 'ok', brokenStreams: [], events: 40 });
  });

  it('wakes a subscriber on an append from another process, without waiting for the safety tick', async () => {
    const path = tempPath();
    const store = createSqliteEventStore({ path, safetyTickMs: 600_000 });
    await store.appendToStream('seed-1', [event('seed-1', 0)]);
    const seen: StoredEvent[] = [];
    let resolveSeen: () => void;
    const allSeen = new Promise<void>((r) => (resolveSeen = r));
    const subscription = store.subscribe({
      handler: (e) => {
        seen.push(e);
        if (seen.length === 1 + 10) resolveSeen();
      },
    });
    const child = spawn(process.execPath, [worker, path, 'other', '4', '1']);
    const timeout = new Promise((_, reject) =>
      setTimeout(() => reject(new Error('no wake-up within 5 s')), 5000),
    );
    await Promise.race([allSeen, timeout]);
    // 4 batches of sizes 1, 8, 6, 4 … only the first 10 events are awaited; the rest follow.
    expect(seen.slice(0, 11).map((e) => e.position)).toEqual(
      Array.from({ length: 11 }, (_, i) => String(i + 1)),
    );
    await new Promise((r) => child.on('exit', r));
    await subscription.stop();
    await store.close();
  });
});
