import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createEvent, defineSaga, startSagas } from '@eventfabric/core';
import { createSqliteEventStore, SqliteSagaStorage } from '@eventfabric/sqlite';
import { runCli, tempDir } from './cli-harness.js';

const { dir, remove } = tempDir();
afterAll(remove);

const saga = defineSaga<{ orderId: string }>({
  name: 'checkout',
  startedBy: ['shop.order.placed.v1'],
  start: (event) => ({ orderId: (event.data as { orderId: string }).orderId }),
  steps: [
    {
      name: 'reserve',
      run: ({ send, state }) => send({ type: 'shop.stock.reserve.v1', data: state }),
      completedBy: ['shop.stock.reserved.v1'],
      failedBy: ['shop.stock.rejected.v1'],
    },
    {
      name: 'charge',
      run: ({ send, state }) => send({ type: 'shop.payment.charge.v1', data: state }),
      completedBy: ['shop.payment.charged.v1'],
      failedBy: ['shop.payment.declined.v1'],
      compensate: ({ send, state }) => send({ type: 'shop.payment.refunded.v1', data: state }),
    },
  ],
});

/** A store with one running and one compensated checkout; returns their instance ids. */
async function seed(path: string): Promise<{ running: string; failed: string }> {
  const store = createSqliteEventStore({ path });
  const daemon = await startSagas({ store, storage: new SqliteSagaStorage(store), sagas: [saga] });
  try {
    const place = async (orderId: string) => {
      const placed = createEvent({
        type: 'shop.order.placed.v1',
        source: '/shop',
        subject: `order-${orderId}`,
        data: { orderId },
      });
      await store.appendToStream(placed.subject!, [placed]);
      await daemon.caughtUp(await store.headPosition());
      return placed;
    };
    const answer = async (placed: { correlationid?: string }, command: string, type: string) => {
      const cause = (await store.readByCorrelation(placed.correlationid!)).find(
        (e) => e.type === command,
      )!;
      const reply = createEvent({
        type,
        source: '/shop',
        subject: cause.subject!,
        data: { reason: 'card declined' },
        parent: cause,
      });
      await store.appendToStream(reply.subject!, [reply]);
      await daemon.caughtUp(await store.headPosition());
    };
    const running = await place('o1');
    const failed = await place('o2');
    await answer(failed, 'shop.stock.reserve.v1', 'shop.stock.reserved.v1');
    await answer(failed, 'shop.payment.charge.v1', 'shop.payment.declined.v1');
    return { running: running.correlationid!, failed: failed.correlationid! };
  } finally {
    await daemon.stop();
    await store.close();
  }
}

describe('eventfabric sagas', () => {
  it('lists instances by status and shows one with its failure and history', async () => {
    const path = join(dir, 'sagas.db');
    const { running, failed } = await seed(path);
    const store = ['--store', `sqlite:${path}`];

    const all = await runCli(['sagas', 'list', '--json', ...store], { cwd: dir });
    expect(all.code).toBe(0);
    const rows = JSON.parse(all.stdout) as { id: string; status: string; step: number }[];
    expect(rows.map((r) => [r.id, r.status, r.step]).sort()).toEqual(
      [
        [running, 'running', 0],
        [failed, 'compensated', 1],
      ].sort(),
    );

    const compensated = await runCli(['sagas', 'list', '--status', 'compensated', ...store], {
      cwd: dir,
    });
    expect(compensated.code).toBe(0);
    expect(compensated.stdout).toContain(failed);
    expect(compensated.stdout).not.toContain(running);

    const shown = await runCli(['sagas', 'show', 'checkout', failed, ...store], { cwd: dir });
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain('status    compensated');
    expect(shown.stdout).toContain('failure   charge: card declined');
    expect(shown.stdout.match(/^ {2}\S+ {2}(\S+)/gm)?.map((l) => l.trim().split(/\s+/)[1])).toEqual(
      ['started', 'step-started', 'step-completed', 'step-started', 'step-failed', 'failed'],
    );
  });

  it('rejects an unknown instance, a bad status and a bad limit, changing nothing', async () => {
    const path = join(dir, 'bad.db');
    await seed(path);
    const store = ['--store', `sqlite:${path}`];
    const before = (await runCli(['sagas', 'list', '--json', ...store], { cwd: dir })).stdout;

    const missing = await runCli(['sagas', 'show', 'checkout', 'nope', '--json', ...store], {
      cwd: dir,
    });
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.stderr).error.code).toBe('NOT_FOUND');

    const status = await runCli(['sagas', 'list', '--status', 'stuck', '--json', ...store], {
      cwd: dir,
    });
    expect(status.code).toBe(2);
    expect(JSON.parse(status.stderr).error.code).toBe('INVALID_ARGUMENT');

    const limit = await runCli(['sagas', 'list', '--limit', 'many', '--json', ...store], {
      cwd: dir,
    });
    expect(limit.code).toBe(2);
    expect(JSON.parse(limit.stderr).error.code).toBe('INVALID_ARGUMENT');

    expect((await runCli(['sagas', 'list', '--json', ...store], { cwd: dir })).stdout).toBe(before);
  });

  it.each([
    ['sagas is not an array', `export default { sagas: 'checkout' }`, /"sagas" must be an array/],
    [
      'a malformed saga',
      `export default { sagas: [{ name: 'Checkout', startedBy: ['a.b.c.v1'], start: () => ({}), steps: [{ name: 's', run() {} }] }] }`,
      /sagas\[0\]: saga name/,
    ],
    [
      'a saga twice',
      `const s = { name: 'checkout', startedBy: ['a.b.c.v1'], start: () => ({}), steps: [{ name: 's', run() {} }] };
       export default { sagas: [s, s] }`,
      /saga name "checkout" is used twice/,
    ],
    ['no sagas', `export default { handlers: [] }`, /no sagas are configured/],
  ])(
    'sagas run refuses %s with INVALID_CONFIG and creates no store',
    async (label, source, message) => {
      const cwd = join(dir, `bad-${label.replace(/\W+/g, '-')}`);
      mkdirSync(cwd, { recursive: true });
      writeFileSync(join(cwd, 'eventfabric.config.mjs'), source);
      const path = join(cwd, 'store.db');
      const result = await runCli(['sagas', 'run', '--json', '--store', `sqlite:${path}`], { cwd });
      expect(result.code).toBe(1);
      const error = JSON.parse(result.stderr).error as { code: string; message: string };
      expect(error.code).toBe('INVALID_CONFIG');
      expect(error.message).toMatch(message);
      expect(existsSync(path)).toBe(false);
    },
  );
});
