import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { collect, sleep, spawnCli, tempDir } from './cli-harness.js';

/** A config with one transactional handler and one projection; it imports nothing. */
const CONFIG = `
export default {
  service: 'shop',
  handlers: [
    {
      name: 'audit',
      on: ['shop.*'],
      transactional: true,
      handle(event, ctx) {
        ctx.tx.prepare('CREATE TABLE IF NOT EXISTS audited (id TEXT PRIMARY KEY)').run();
        ctx.tx.prepare('INSERT INTO audited (id) VALUES (?)').run(event.id);
      },
    },
  ],
  projections: [
    {
      name: 'totals',
      version: 1,
      tables: ['totals'],
      setup({ tx, table }) {
        tx.exec(\`CREATE TABLE \${table('totals')} (stream TEXT PRIMARY KEY, amount INTEGER NOT NULL)\`);
      },
      handlers: {
        'shop.order.placed.v1': (event, { tx, table }) => {
          tx.prepare(
            \`INSERT INTO \${table('totals')} (stream, amount) VALUES (?, ?)
             ON CONFLICT (stream) DO UPDATE SET amount = amount + excluded.amount\`,
          ).run(event.subject, event.data.amount);
        },
      },
    },
  ],
};
`;

function query(path: string, sql: string): unknown[] {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare(sql).all();
  } finally {
    db.close();
  }
}

async function poll(url: string, done: (body: Record<string, unknown>) => boolean) {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const body = (await (await fetch(url)).json()) as Record<string, unknown>;
    if (done(body)) return body;
    if (Date.now() > deadline) throw new Error(`timed out on ${url}: ${JSON.stringify(body)}`);
    await sleep(50);
  }
}

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

describe('eventfabric serve with a config file: /v1/replays and /v1/projections (a real serve process)', () => {
  it("replays the config's handler into the store and rebuilds its projection, over HTTP", async () => {
    const { dir, remove } = tempDir();
    cleanups.push(remove);
    writeFileSync(join(dir, 'eventfabric.config.mjs'), CONFIG);
    const child = spawnCli(['serve', '--port', '0'], { cwd: dir });
    cleanups.push(() => void child.kill('SIGKILL'));
    const result = collect(child);
    const url = await new Promise<string>((resolve, reject) => {
      let seen = '';
      child.stdout.on('data', (chunk: Buffer) => {
        seen += chunk.toString();
        const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(seen);
        if (match) resolve(match[1]!);
      });
      child.on('exit', (code) => reject(new Error(`serve exited with ${code}: ${seen}`)));
    });
    const store = join(dir, '.eventfabric/eventfabric.db');

    const published = await fetch(`${url}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents-batch+json' },
      body: JSON.stringify(
        [
          ['o-1', 'order-1', 5],
          ['o-2', 'order-1', 7],
          ['o-3', 'order-2', 1],
        ].map(([id, subject, amount]) => ({
          specversion: '1.0',
          id,
          type: 'shop.order.placed.v1',
          source: '/shop',
          subject,
          data: { amount },
        })),
      ),
    });
    const started = await fetch(`${url}/v1/replays`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ handler: 'audit' }),
    });
    const location = started.headers.get('location');
    const replayed = await poll(`${url}${location}`, (run) => run.status === 'finished');
    const rebuild = await fetch(`${url}/v1/projections/totals/rebuild`, { method: 'POST' });
    const built = await poll(
      `${url}/v1/projections/totals`,
      (body) => (body.rebuild as { status: string } | null)?.status === 'live',
    );
    child.kill('SIGTERM');
    const { code } = await result;

    expect(published.status).toBe(201);
    expect(started.status).toBe(202);
    expect(replayed).toMatchObject({
      handler: 'audit',
      status: 'finished',
      result: { scanned: 3, matched: 3, handled: 3, skipped: 0, failed: 0 },
    });
    expect(query(store, 'SELECT id FROM audited ORDER BY id')).toEqual([
      { id: 'o-1' },
      { id: 'o-2' },
      { id: 'o-3' },
    ]);
    expect(rebuild.status).toBe(202);
    expect(built).toMatchObject({ live: 1, versions: [{ version: 1, mode: 'live', lag: 0 }] });
    expect(query(store, 'SELECT stream, amount FROM totals ORDER BY stream')).toEqual([
      { stream: 'order-1', amount: 12 },
      { stream: 'order-2', amount: 1 },
    ]);
    expect(code).toBe(0);
  });
});
