import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createSqliteEventStore } from '../src/index.js';
import { inspectStore } from './store-consistency.js';

const worker = fileURLToPath(new URL('./fixtures/append-worker.mjs', import.meta.url));

function startWorker(
  path: string,
  id: string,
  batches: number,
  streams: number,
): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, [worker, path, id, String(batches), String(streams)]);
}

function output(child: ChildProcessWithoutNullStreams, marker: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    let errors = '';
    child.stdout.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (text.includes(marker)) resolve(text);
    });
    child.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
    child.on('exit', (code) =>
      text.includes(marker) ? resolve(text) : reject(new Error(`exit ${code}: ${errors}`)),
    );
  });
}

describe('SQLite store under crashes and several processes', () => {
  it('given a writer killed with SIGKILL mid-loop, then the store has no torn append and no version gap', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'ef-crash-')), 'store.db');
    for (let round = 0; round < 3; round++) {
      const child = startWorker(path, `w${round}`, 0, 3);
      await output(child, 'ready');
      await new Promise((r) => setTimeout(r, 150 + round * 100));
      const exited = new Promise((r) => child.on('exit', r));
      child.kill('SIGKILL');
      await exited;
    }
    const report = inspectStore(path);
    expect(report.integrity).toBe('ok');
    expect(report.events).toBeGreaterThan(3);
    expect(report.brokenStreams).toEqual([]);
    expect(report.tornBatches).toEqual([]);
    expect(report.positionsIncrease).toBe(true);

    // The store reopens and keeps appending where the killed writers left off.
    const store = createSqliteEventStore({ path });
    const head = await store.headPosition();
    expect(Number(head)).toBe(report.events);
    expect((await store.readAll({ limit: 100_000 })).length).toBe(report.events);
    await store.close();
  });

  it('given three processes appending to the same streams with expected versions, then versions and positions stay consistent', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'ef-multi-')), 'store.db');
    const children = ['a', 'b', 'c'].map((id) => startWorker(path, id, 60, 2));
    const results = await Promise.all(children.map((c) => output(c, '"conflicts"')));
    const report = inspectStore(path);
    const expectedEvents =
      3 * Array.from({ length: 60 }, (_, b) => 1 + ((b * 7) % 9)).reduce((a, n) => a + n, 0);
    expect(report).toEqual({
      integrity: 'ok',
      events: expectedEvents,
      brokenStreams: [],
      tornBatches: [],
      positionsIncrease: true,
    });
    expect(results).toHaveLength(3);
  });
});
