import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, expect, it } from 'vitest';
import { createEvent } from '@eventfabric/core';
import type { PostgresEventStore } from '../src/index.js';
import { describeWithPostgres, freshStores, TEST_PG_URL, until } from './pg-available.js';

// The PostgreSQL twin of sqlite-relay.test.ts's crash test, with the consumer's side added:
// each relay process applies what it forwards through PostgresProcessedEvents, so the test
// also proves that the resends a crash causes are absorbed. Child processes run the built
// packages: `npx tsc -b` first.
const WORKER = fileURLToPath(new URL('./fixtures/relay-worker.mjs', import.meta.url));
const OPTIONS = { leaseMs: 600, batchSize: 50, forwardMs: 100 };
const TOTAL = 2000;
const STREAMS = 7;

const stores = freshStores('ef_relay_crash');
const children = new Set<ChildProcess>();

interface RelayProcess {
  child: ChildProcess;
  /** The first line: `ready active` or `ready standby`. */
  ready: Promise<string>;
  /** SIGKILL the process the moment it reports its next forwarded batch (before its checkpoint). */
  killOnNextForward(): Promise<void>;
}

function startRelay(schema: string, owner: string): RelayProcess {
  const child = spawn(
    process.execPath,
    [WORKER, TEST_PG_URL, schema, owner, JSON.stringify(OPTIONS)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  children.add(child);
  const lines: Interface = createInterface({ input: child.stdout! });
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code, signal) =>
      reject(new Error(`relay ${owner} exited (${code ?? signal})`)),
    ),
  );
  exited.catch(() => undefined);
  const firstLine = (prefix: string, then: (line: string) => void) =>
    new Promise<string>((resolve) => {
      const onLine = (line: string) => {
        if (!line.startsWith(prefix)) return;
        lines.off('line', onLine);
        then(line);
        resolve(line);
      };
      lines.on('line', onLine);
    });
  return {
    child,
    ready: Promise.race([firstLine('ready', () => undefined), exited]),
    killOnNextForward: async () => {
      await firstLine('forwarded', () => child.kill('SIGKILL'));
      await once(child, 'exit');
      children.delete(child);
    },
  };
}

async function rows<T>(store: PostgresEventStore, sql: string): Promise<T[]> {
  return (await store.pool.query(sql.replaceAll('$s', `"${store.schema}"`))).rows as T[];
}

async function count(store: PostgresEventStore, sql: string): Promise<number> {
  const [row] = await rows<{ n: string }>(store, sql);
  return Number(row!.n);
}

describeWithPostgres('relay on PostgreSQL under crashes', () => {
  afterEach(() => {
    for (const child of children) child.kill('SIGKILL');
    children.clear();
  });
  afterAll(() => stores.cleanup());

  it('given the lease holder SIGKILLed twice mid-forward while events are appended, then a standby takes over from the checkpoint: every event arrives, each stream in order, and the consumer absorbs every resend, applying each effect exactly once', async () => {
    const store = await stores.open();
    for (const table of [
      'relay_arrivals (seq bigserial PRIMARY KEY, event_id text NOT NULL, position bigint NOT NULL, owner text NOT NULL)',
      // No unique key on event_id: the processed-event record alone must keep effects single.
      'relay_effects (seq bigserial PRIMARY KEY, event_id text NOT NULL, stream text NOT NULL, n integer NOT NULL, owner text NOT NULL)',
      'relay_absorbed (seq bigserial PRIMARY KEY, event_id text NOT NULL, owner text NOT NULL)',
    ]) {
      await store.pool.query(`CREATE TABLE "${store.schema}".${table}`);
    }
    const relays = new Map<string, RelayProcess>();
    const first = startRelay(store.schema, 'r1');
    expect(await first.ready).toBe('ready active');
    relays.set('r1', first);
    const second = startRelay(store.schema, 'r2');
    expect(await second.ready).toBe('ready standby');
    relays.set('r2', second);

    // Given: 2 000 events over 7 streams, appended in batches of 20 every 25 ms.
    const ids: string[] = [];
    const appending = (async () => {
      for (let i = 0; i < TOTAL; i += 20) {
        const batch = Array.from({ length: 20 }, (_, j) => {
          const k = i + j;
          return createEvent({
            type: 'test.item.added.v1',
            source: '/relay-crash',
            subject: `item-${k % STREAMS}`,
            data: { n: Math.floor(k / STREAMS) },
          });
        });
        await store.appendMany(batch);
        ids.push(...batch.map((e) => e.id));
        await new Promise((r) => setTimeout(r, 25));
      }
    })();

    // When: twice, once appending has moved on, the lease holder is SIGKILLed just after a
    // forward (before that batch's checkpoint), and a fresh instance joins in its place.
    for (const [appended, spare] of [
      [500, 'r3'],
      [1200, 'r4'],
    ] as const) {
      await until(() => ids.length >= appended, `${appended} appended`, 20_000);
      const [{ owner }] = (await rows<{ owner: string }>(
        store,
        `SELECT owner FROM $s.relay_checkpoints WHERE name = 'to-ledger'`,
      )) as [{ owner: string }];
      const victim = relays.get(owner)!;
      await victim.killOnNextForward();
      relays.delete(owner);
      const replacement = startRelay(store.schema, spare);
      // The spare may win the expired lease before the standby already running does.
      expect(['ready standby', 'ready active']).toContain(await replacement.ready);
      relays.set(spare, replacement);
    }
    await appending;
    expect(ids.length).toBe(TOTAL);
    await until(
      async () =>
        (await count(store, 'SELECT count(DISTINCT event_id) AS n FROM $s.relay_arrivals')) ===
        TOTAL,
      'every event to arrive',
      30_000,
    );
    // Let the last batches' effects and checkpoints settle.
    await until(
      async () =>
        (await count(store, 'SELECT count(*) AS n FROM $s.relay_arrivals')) ===
        (await count(store, 'SELECT count(*) AS n FROM $s.relay_effects')) +
          (await count(store, 'SELECT count(*) AS n FROM $s.relay_absorbed')),
      'every arrival applied or absorbed',
      10_000,
    );

    // Then: every event arrived, first arrivals in position (= append) order.
    const arrivals = await rows<{ event_id: string; position: string; owner: string }>(
      store,
      'SELECT event_id, position, owner FROM $s.relay_arrivals ORDER BY seq',
    );
    const firsts = [...new Set(arrivals.map((a) => a.event_id))];
    expect(firsts).toEqual(ids);
    // Each kill landed after a forward and before its checkpoint, so its batch (and at most
    // one more, whose checkpoint was being written) went out again from the successor.
    const resent = arrivals.length - TOTAL;
    expect(resent).toBeGreaterThanOrEqual(2);
    expect(resent).toBeLessThanOrEqual(2 * 2 * OPTIONS.batchSize);
    // Each owner forwarded a contiguous run; a successor starts at or before where the last
    // one stopped, never after it.
    const owners = new Set(arrivals.map((a) => a.owner));
    expect(owners.size).toBeGreaterThanOrEqual(3);
    for (let i = 1; i < arrivals.length; i++) {
      const [prev, row] = [Number(arrivals[i - 1]!.position), Number(arrivals[i]!.position)];
      if (arrivals[i - 1]!.owner === arrivals[i]!.owner) expect(row).toBeGreaterThan(prev);
      else expect(row).toBeLessThanOrEqual(prev + 1);
    }

    // Exactly once: one effect and one processed record per event; every resend absorbed.
    expect(await count(store, 'SELECT count(*) AS n FROM $s.relay_effects')).toBe(TOTAL);
    expect(await count(store, 'SELECT count(DISTINCT event_id) AS n FROM $s.relay_effects')).toBe(
      TOTAL,
    );
    expect(
      await count(store, `SELECT count(*) AS n FROM $s.processed_events WHERE handler = 'ledger'`),
    ).toBe(TOTAL);
    expect(await count(store, 'SELECT count(*) AS n FROM $s.relay_absorbed')).toBe(resent);
    // Effects applied in order per stream: n = 0, 1, 2, … with nothing missing or repeated.
    const effects = await rows<{ stream: string; n: number }>(
      store,
      'SELECT stream, n FROM $s.relay_effects ORDER BY seq',
    );
    for (let k = 0; k < STREAMS; k++) {
      const ns = effects.filter((e) => e.stream === `item-${k}`).map((e) => e.n);
      const expected = Array.from({ length: Math.ceil((TOTAL - k) / STREAMS) }, (_, n) => n);
      expect(ns).toEqual(expected);
    }
  }, 60_000);
});
