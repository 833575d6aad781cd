import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { describeRelayCheckpointStoreConformance } from '@eventfabric/conformance';
import { createSqliteEventStore, SqliteRelayCheckpoints } from '../src/index.js';
import { itemEvent, tempDbPath } from './fixtures/transport-helpers.js';

// Child processes run the built packages: `npx tsc -b packages/sqlite` first.
const WORKER = fileURLToPath(new URL('./fixtures/relay-worker.mjs', import.meta.url));

describeRelayCheckpointStoreConformance('sqlite', {
  create: () => new SqliteRelayCheckpoints(tempDbPath('ef-relay-')),
});

const children = new Set<ChildProcess>();
afterEach(() => {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
});

function startRelay(path: string, sink: string, owner: string, options: object = {}) {
  const child = spawn(process.execPath, [WORKER, path, sink, owner, JSON.stringify(options)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.add(child);
  const ready = new Promise<string>((resolve, reject) => {
    child.stdout!.setEncoding('utf8');
    child.stdout!.once('data', (line: string) => resolve(line.trim()));
    child.once('exit', (code) => reject(new Error(`relay ${owner} exited with ${code}`)));
  });
  return { child, ready };
}

function sinkRows(sink: string): { event_id: string; position: number; owner: string }[] {
  const db = new Database(sink, { readonly: true });
  try {
    return db.prepare('SELECT event_id, position, owner FROM sink ORDER BY seq').all() as {
      event_id: string;
      position: number;
      owner: string;
    }[];
  } catch {
    return [];
  } finally {
    db.close();
  }
}

async function until(condition: () => boolean, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('relay on SQLite under crashes', () => {
  it('given the forwarding relay SIGKILLed twice while events are appended, then a standby takes over from the checkpoint: every event arrives, in position order, and only unacknowledged batches repeat', async () => {
    const path = tempDbPath('ef-relay-crash-');
    const sink = join(dirname(path), 'sink.db');
    const store = createSqliteEventStore({ path });
    const total = 3000;
    const options = { leaseMs: 600, batchSize: 50, forwardMs: 5 };
    try {
      const relays = new Map<string, ChildProcess>();
      const first = startRelay(path, sink, 'r1', options);
      expect(await first.ready).toBe('ready active');
      relays.set('r1', first.child);
      const second = startRelay(path, sink, 'r2', options);
      expect(await second.ready).toBe('ready standby');
      relays.set('r2', second.child);
      const ids: string[] = [];
      const appending = (async () => {
        for (let i = 0; i < total; i += 100) {
          const batch = Array.from({ length: 100 }, (_, j) => itemEvent(`k${(i + j) % 7}`, i + j));
          await store.appendMany(batch);
          ids.push(...batch.map((e) => e.id));
          await new Promise((r) => setTimeout(r, 15));
        }
      })();
      // Twice: once the sink has moved on, SIGKILL whichever relay holds the lease, and start
      // a fresh instance in its place.
      for (const [n, spare] of [
        [800, 'r3'],
        [1800, 'r4'],
      ] as const) {
        await until(() => sinkRows(sink).length >= n, `${n} forwarded`);
        const holder = store.db
          .prepare("SELECT owner FROM relay_checkpoints WHERE name = 'to-sink'")
          .pluck()
          .get() as string;
        const victim = relays.get(holder)!;
        victim.kill('SIGKILL');
        await once(victim, 'exit');
        children.delete(victim);
        relays.delete(holder);
        const replacement = startRelay(path, sink, spare, options);
        // The spare may win the expired lease before the standby already running does.
        expect(['ready standby', 'ready active']).toContain(await replacement.ready);
        relays.set(spare, replacement.child);
      }
      await appending;
      await until(
        () => new Set(sinkRows(sink).map((r) => r.event_id)).size === total,
        'all events',
      );
      const rows = sinkRows(sink);
      // Every event arrived; the first arrivals are in position order.
      const firsts = new Map<string, number>();
      for (const row of rows) if (!firsts.has(row.event_id)) firsts.set(row.event_id, row.position);
      expect([...firsts.keys()]).toEqual(ids);
      // Repeats come only from a killed owner's last batches, re-sent by its successor.
      const repeats = rows.length - total;
      expect(repeats).toBeGreaterThanOrEqual(0);
      expect(repeats).toBeLessThanOrEqual(2 * 2 * options.batchSize);
      // Each owner forwarded a contiguous run of positions: nothing skipped at a handover.
      const owners = [...new Set(rows.map((r) => r.owner))];
      expect(owners.length).toBeGreaterThanOrEqual(3);
      for (let i = 1; i < rows.length; i++) {
        const [prev, row] = [rows[i - 1]!, rows[i]!];
        if (prev.owner === row.owner) expect(row.position).toBeGreaterThan(prev.position);
        else expect(row.position).toBeLessThanOrEqual(prev.position + 1);
      }
    } finally {
      await store.close();
    }
  }, 90_000);
});
