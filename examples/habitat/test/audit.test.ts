import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditAllocation, openEmbeddedBackend, type Backend } from '@eventfabric/habitat';
import { embedded, temporaryDirectory } from './harness.js';
import { runCooperative } from './scenario.js';

const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const run = promisify(execFile);

async function cli(args: string[]): Promise<{ code: number; stdout: string }> {
  try {
    const { stdout } = await run(process.execPath, [CLI, ...args]);
    return { code: 0, stdout };
  } catch (error) {
    const e = error as { code: number; stdout: string };
    return { code: e.code, stdout: e.stdout };
  }
}

describe('auditing an allocation against the events that produced it', () => {
  const tmp = temporaryDirectory();
  const path = join(tmp.dir, 'habitat.db');
  let backend: Backend;
  beforeAll(async () => {
    const app = await embedded(tmp.dir);
    await runCooperative(app);
    await app.stop();
    backend = await openEmbeddedBackend({ path });
  });
  afterAll(async () => {
    await backend.close();
    tmp.remove();
  });

  it('recomputes the stored allocation from exactly the approvals before the close, and the close', async () => {
    const audit = await auditAllocation(backend.store, backend.sql, '2026-q1');
    expect(audit.match).toBe(true);
    expect(audit.differences).toEqual([]);
    expect(audit.events.map((e) => e.type)).toEqual([
      ...Array(4).fill('agreements.contribution.approved.v1'),
      'treasury.period.closed.v1',
    ]);
    const approvals = await backend.store.readAll({
      typePrefixes: ['agreements.contribution.approved.'],
    });
    expect(audit.events.slice(0, 4).map((e) => e.id)).toEqual(approvals.map((e) => e.id));
    expect(audit.recomputed.map((a) => [a.memberId, a.allocatedCents])).toEqual([
      ['m-ada', 50_000],
      ['m-bo', 16_667],
      ['m-cy', 33_334],
    ]);
    const { code, stdout } = await cli(['audit', '2026-q1', '--store', `sqlite:${path}`]);
    expect(code).toBe(0);
    expect(stdout).toContain('allocation of period 2026-q1: MATCH');
    expect(stdout).toContain('events used (5):');
  });

  it('reports a tampered allocation as a mismatch, naming the member, the field and both values', async () => {
    await backend.sql.run(
      `UPDATE treasury_allocations SET allocated_cents = allocated_cents + 1 WHERE period_id = '2026-q1' AND member_id = 'm-ada'`,
    );
    const audit = await auditAllocation(backend.store, backend.sql, '2026-q1');
    expect(audit.match).toBe(false);
    expect(audit.differences).toEqual([
      { memberId: 'm-ada', field: 'allocatedCents', stored: 50_001, recomputed: 50_000 },
    ]);
    const { code, stdout } = await cli(['audit', '2026-q1', '--store', `sqlite:${path}`, '--json']);
    expect(code).toBe(1);
    expect(JSON.parse(stdout)).toMatchObject({
      periodId: '2026-q1',
      match: false,
      differences: audit.differences,
    });
  });

  it('answers NOT_FOUND for a period that never closed, and exit 2 without one', async () => {
    await expect(auditAllocation(backend.store, backend.sql, '2026-q2')).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    expect((await cli(['audit', '--store', `sqlite:${path}`])).code).toBe(2);
  });
});
