import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { collect, eventLine, runCli, sleep, spawnCli, tempDir } from './cli-harness.js';

const CONFIG = fileURLToPath(new URL('./fixtures/projections.config.mjs', import.meta.url));
const { dir, remove } = tempDir();
afterAll(remove);

let n = 0;
function project(): { cwd: string; store: string[]; path: string } {
  const cwd = join(dir, `p${n++}`);
  mkdirSync(cwd, { recursive: true });
  copyFileSync(CONFIG, join(cwd, 'eventfabric.config.mjs'));
  const path = join(cwd, 'store.db');
  return { cwd, store: ['--store', `sqlite:${path}`], path };
}

function submitted(member: string, amount: number) {
  return eventLine({
    subject: `contribution-${member}`,
    data: { contributionId: 'c', memberId: member, amount },
  });
}

function query(path: string, sql: string): unknown[] {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare(sql).all();
  } finally {
    db.close();
  }
}

describe('eventfabric projections', () => {
  it('rebuilds, reports status, verifies, detects tampering and rebuilds a raised version', async () => {
    const { cwd, store, path } = project();
    const published = await runCli(['publish', ...store], {
      cwd,
      input: submitted('m1', 10) + submitted('m2', 5) + submitted('m1', 7),
    });
    expect(published.code).toBe(0);

    const before = await runCli(['projections', 'list', '--json', ...store], { cwd });
    expect(JSON.parse(before.stdout)).toEqual([
      { name: 'totals', version: 1, live: null, tables: ['member_totals'] },
    ]);

    const rebuilt = await runCli(['projections', 'rebuild', 'totals', ...store], { cwd });
    expect(rebuilt).toEqual({
      code: 0,
      stdout: 'totals version 1 is live at position 3\n',
      stderr: '',
    });
    expect(query(path, 'SELECT * FROM member_totals ORDER BY member')).toEqual([
      { member: 'm1', amount: 17 },
      { member: 'm2', amount: 5 },
    ]);

    const status = await runCli(['projections', 'status', '--json', ...store], { cwd });
    expect(JSON.parse(status.stdout)).toEqual([
      {
        name: 'totals',
        version: 1,
        mode: 'live',
        defined: true,
        position: '3',
        lag: 0,
        lastError: null,
      },
    ]);

    const verified = await runCli(['projections', 'verify', 'totals', ...store], { cwd });
    expect(verified).toEqual({
      code: 0,
      stdout: 'totals version 1 matches a rebuild at position 3\n',
      stderr: '',
    });

    const db = new Database(path);
    db.prepare("UPDATE p_totals_v1_member_totals SET amount = 1 WHERE member = 'm2'").run();
    db.close();
    const tampered = await runCli(['projections', 'verify', 'totals', ...store], { cwd });
    expect(tampered).toEqual({
      code: 1,
      stdout:
        'totals version 1 differs from a rebuild at position 3: 2 rows\n' +
        '  member_totals: missing    {"member":"m2","amount":5}\n' +
        '  member_totals: unexpected {"member":"m2","amount":1}\n',
      stderr: '',
    });

    // Without --force a live version is left as is; with it, it is rebuilt in place.
    const kept = await runCli(['projections', 'rebuild', 'totals', ...store], { cwd });
    expect(kept.stdout).toBe('totals is live at version 1: nothing to build\n');
    expect(query(path, "SELECT amount FROM member_totals WHERE member = 'm2'")).toEqual([
      { amount: 1 },
    ]);
    const repaired = await runCli(['projections', 'rebuild', 'totals', '--force', ...store], {
      cwd,
    });
    expect(repaired).toEqual({
      code: 0,
      stdout: 'totals version 1 rebuilt in place at position 3 (2 differing rows replaced)\n',
      stderr: '',
    });
    expect(query(path, 'SELECT * FROM member_totals ORDER BY member')).toEqual([
      { member: 'm1', amount: 17 },
      { member: 'm2', amount: 5 },
    ]);
    const clean = await runCli(['projections', 'verify', 'totals', ...store], { cwd });
    expect(clean.code).toBe(0);
    expect(
      query(path, "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'p_totals_%'"),
    ).toEqual([{ name: 'p_totals_v1_member_totals' }]);

    // Version 2 doubles amounts: built beside version 1, swapped in, version 1 dropped.
    const env = { TOTALS_VERSION: '2' };
    const v2 = await runCli(['projections', 'rebuild', 'totals', ...store], { cwd, env });
    expect(v2).toEqual({
      code: 0,
      stdout: 'totals version 2 is live at position 3 (version 1 dropped)\n',
      stderr: '',
    });
    expect(query(path, 'SELECT * FROM member_totals ORDER BY member')).toEqual([
      { member: 'm1', amount: 34 },
      { member: 'm2', amount: 10 },
    ]);
    expect(
      query(path, "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'p_totals_%'"),
    ).toEqual([{ name: 'p_totals_v2_member_totals' }]);
    const again = await runCli(['projections', 'rebuild', 'totals', ...store], { cwd, env });
    expect(again.stdout).toBe('totals is live at version 2: nothing to build\n');
  });

  it('runs the projections live until SIGTERM', async () => {
    const { cwd, store, path } = project();
    const child = spawnCli(['projections', 'run', ...store], { cwd });
    const result = collect(child);
    let stdout = '';
    child.stdout.on('data', (d: string) => (stdout += d));
    const deadline = Date.now() + 15_000;
    while (!stdout.includes('running')) {
      if (Date.now() > deadline) throw new Error('projections run did not start');
      await sleep(50);
    }
    await runCli(['publish', ...store], { cwd, input: submitted('m9', 4) });
    for (;;) {
      const rows = (() => {
        try {
          return query(path, 'SELECT * FROM member_totals');
        } catch {
          return [];
        }
      })();
      if (rows.length === 1) {
        expect(rows).toEqual([{ member: 'm9', amount: 4 }]);
        break;
      }
      if (Date.now() > deadline) throw new Error('the live event was not projected');
      await sleep(50);
    }
    child.kill('SIGTERM');
    expect(await result).toEqual({
      code: 0,
      stdout: 'running 1 projection: totals; SIGINT or SIGTERM stops\nstopped\n',
      stderr: '',
    });
  });

  it('rejects an unknown projection, a config without projections and a malformed projection, creating nothing', async () => {
    const { cwd, store, path } = project();
    const unknown = await runCli(['projections', 'rebuild', 'nope', '--json', ...store], { cwd });
    expect(unknown.code).toBe(1);
    expect(JSON.parse(unknown.stderr)).toMatchObject({
      error: {
        code: 'INVALID_ARGUMENT',
        message: 'no projection named "nope" (configured: totals)',
      },
    });
    // Refused before the store was opened: not even the file exists.
    expect(existsSync(path)).toBe(false);

    const bare = join(dir, `bare${n++}`);
    mkdirSync(bare);
    const none = await runCli(['projections', 'list', '--json', ...store], { cwd: bare });
    expect(none.code).toBe(1);
    expect(JSON.parse(none.stderr)).toMatchObject({ error: { code: 'INVALID_CONFIG' } });

    const broken = join(dir, `broken${n++}`);
    mkdirSync(broken);
    writeFileSync(
      join(broken, 'eventfabric.config.mjs'),
      "export default { projections: [{ name: 'Bad Name', version: 1, tables: ['t'], setup() {}, handlers: { 'a.b.c.v1': () => {} } }] };",
    );
    const malformed = await runCli(['projections', 'list', '--json', ...store], { cwd: broken });
    expect(malformed.code).toBe(1);
    expect(JSON.parse(malformed.stderr)).toMatchObject({
      error: {
        code: 'INVALID_CONFIG',
        message: expect.stringContaining('projections[0]: projection name must be') as string,
      },
    });
    expect(existsSync(path)).toBe(false);
  });
});
