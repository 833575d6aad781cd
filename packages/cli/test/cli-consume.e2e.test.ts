import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createSqliteEventStore } from '@eventfabric/sqlite';
import { collect, runCli, spawnCli, tempDir, until } from './cli-harness.js';
import { appendTreasuryEvents, readLedger, writeLedgerConfig } from './fixtures/ledger.js';

// `consume` runs the fixture config's handlers (balances, receipts) on the embedded
// transport until SIGTERM, against events already in the log and events appended live.

const { dir, remove } = tempDir();
afterAll(remove);

describe('eventfabric consume', () => {
  it('handles the log and live events once each, publishes follow-ups, and drains on SIGTERM', async () => {
    const cwd = join(dir, 'consume');
    const store = join(cwd, 'store.db');
    await import('node:fs').then((fs) => fs.mkdirSync(cwd, { recursive: true }));
    writeLedgerConfig(cwd);
    await appendTreasuryEvents(store, [
      { id: 'c-1', member: 1, cents: 100 },
      { id: 'c-2', member: 2, cents: 200 },
      { id: 'r-1', member: 1, cents: 30, type: 'treasury.refund.issued.v1' },
    ]);
    const child = spawnCli(['consume', '--store', `sqlite:${store}`, '--concurrency', '2'], {
      cwd,
    });
    const result = collect(child);
    let stdout = '';
    child.stdout.on('data', (d: string) => (stdout += d));
    await until(
      async () => stdout,
      (s) => s.includes('consuming'),
      'the consumer to start',
    );
    await until(
      async () => (await readLedger(store))?.processed.length ?? 0,
      (n) => n === 5,
      'the backlog',
    );
    await appendTreasuryEvents(store, [{ id: 'c-3', member: 2, cents: 5 }]);
    const ledger = await until(
      async () => readLedger(store),
      (l) => l?.processed.length === 7,
      'the live event',
    );
    expect(ledger).toEqual({
      balances: { 'm-1': 70, 'm-2': 205 },
      processed: [
        'balances c-1',
        'balances c-2',
        'balances c-3',
        'balances r-1',
        'receipts c-1',
        'receipts c-2',
        'receipts c-3',
      ],
    });
    const receipts = await until(
      async () => {
        const s = createSqliteEventStore({ path: store });
        try {
          return (await s.readAll({ typePrefixes: ['treasury.receipt.'] }))
            .map((e) => e.causationid)
            .sort();
        } finally {
          await s.close();
        }
      },
      (r) => r.length === 3,
      'three receipts',
    );
    expect(receipts).toEqual(['c-1', 'c-2', 'c-3']);
    child.kill('SIGTERM');
    const { code, stderr } = await result;
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(stdout).toBe(
      'consuming as ledger.balances, ledger.receipts; SIGINT or SIGTERM stops\nstopped: in-flight handlings drained\n',
    );
  });

  it('rejects an unknown handler and a bad concurrency before consuming anything', async () => {
    const cwd = join(dir, 'bad');
    const store = join(cwd, 'store.db');
    await import('node:fs').then((fs) => fs.mkdirSync(cwd, { recursive: true }));
    writeLedgerConfig(cwd);
    await appendTreasuryEvents(store, [{ id: 'c-1', member: 1, cents: 100 }]);
    const unknown = await runCli(['consume', '--store', `sqlite:${store}`, '--handler', 'nope'], {
      cwd,
    });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('error [INVALID_ARGUMENT]');
    const bad = await runCli(['consume', '--store', `sqlite:${store}`, '--concurrency', '0'], {
      cwd,
    });
    expect(bad.code).toBe(2);
    expect(await readLedger(store)).toEqual({ balances: {}, processed: [] });
  });
});
