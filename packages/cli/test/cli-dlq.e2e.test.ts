import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeadLetter } from '@eventfabric/core';
import { createSqliteEventStore } from '@eventfabric/sqlite';
import { main, type CliIo } from '../src/index.js';
import { runCli, tempDir } from './cli-harness.js';
import {
  listDeadLetters,
  readLedger,
  seedDeadLetters,
  treasuryEvent,
  writeLedgerConfig,
} from './fixtures/ledger.js';

// Dead letters are seeded straight into the store file, as a consumer would add them; the
// CLI then lists, shows, re-drives and purges them with the handlers of the fixture config
// (service ledger: balances, receipts).

const { dir, remove } = tempDir();
beforeAll(() => writeLedgerConfig(dir));
afterAll(remove);

const storeArgs = (path: string) => ['--store', `sqlite:${path}`];
const APPROVED = 'treasury.contribution.approved.v1';
const REFUNDED = 'treasury.refund.issued.v1';

describe('eventfabric dlq list and show', () => {
  const path = join(dir, 'list.db');
  const store = storeArgs(path);
  let seeded: DeadLetter[] = [];
  beforeAll(async () => {
    seeded = await seedDeadLetters(path, [
      { handler: 'balances', event: treasuryEvent({ id: 'e-1', member: 9, cents: -1 }) },
      { handler: 'balances', event: treasuryEvent({ id: 'e-2', member: 9, cents: 50 }) },
      {
        handler: 'balances',
        event: treasuryEvent({ id: 'e-3', member: 8, cents: 70, type: REFUNDED }),
        reason: 'non_retryable',
        error: {
          code: 'NON_RETRYABLE',
          message: 'refund exceeds balance',
          details: { balance: 0 },
        },
      },
      {
        handler: 'receipts',
        event: treasuryEvent({ id: 'e-4', member: 8, cents: 70 }),
        reason: 'poison',
        error: { code: 'POISON_MESSAGE', message: 'event e-4 was delivered 6 times' },
      },
      { handler: 'legacy', event: treasuryEvent({ id: 'e-5', member: 7, cents: 10 }) },
    ]);
  });
  const id = (i: number) => seeded[i]!.id;

  it('given dead letters, when listing, then a table in the order they were added and a count', async () => {
    const result = await runCli(['dlq', 'list', ...store], { cwd: dir });

    expect(result).toEqual({
      code: 0,
      stdout: [
        'ID                                    HANDLER   TYPE                               REASON         ATTEMPTS  LAST FAILURE              ERROR',
        `${id(0)}  balances  ${APPROVED}  exhausted      5         2025-03-01T10:00:09.500Z  HANDLER_FAILED`,
        `${id(1)}  balances  ${APPROVED}  exhausted      5         2025-03-01T10:00:09.500Z  HANDLER_FAILED`,
        `${id(2)}  balances  ${REFUNDED}          non_retryable  5         2025-03-01T10:00:09.500Z  NON_RETRYABLE`,
        `${id(3)}  receipts  ${APPROVED}  poison         5         2025-03-01T10:00:09.500Z  POISON_MESSAGE`,
        `${id(4)}  legacy    ${APPROVED}  exhausted      5         2025-03-01T10:00:09.500Z  HANDLER_FAILED`,
        '5 dead letters',
        '',
      ].join('\n'),
      stderr: '',
    });
  });

  it('given --json, when listing, then each whole dead letter is one JSON line', async () => {
    const result = await runCli(['dlq', 'list', '--json', ...store], { cwd: dir });

    expect(result).toEqual({
      code: 0,
      stdout: seeded.map((d) => `${JSON.stringify(d)}\n`).join(''),
      stderr: '',
    });
  });

  it('given filters, when listing, then they are AND-ed, and --limit says how many are left', async () => {
    const ids = async (...args: string[]) => {
      const result = await runCli(['dlq', 'list', '--json', ...args, ...store], { cwd: dir });
      expect(result.code).toBe(0);
      return result.stdout
        .split('\n')
        .filter(Boolean)
        .map((line) => (JSON.parse(line) as DeadLetter).id);
    };

    expect(await ids('--handler', 'balances', '--reason', 'exhausted')).toEqual([id(0), id(1)]);
    expect(await ids('--type', REFUNDED)).toEqual([id(2)]);
    expect(await ids('--reason', 'poison')).toEqual([id(3)]);
    // Not configured any more, but dead letters still name it: it can be listed and purged.
    expect(await ids('--handler', 'legacy')).toEqual([id(4)]);
    expect(await runCli(['dlq', 'list', '--limit', '1', ...store], { cwd: dir })).toEqual({
      code: 0,
      stdout: [
        'ID                                    HANDLER   TYPE                               REASON     ATTEMPTS  LAST FAILURE              ERROR',
        `${id(0)}  balances  ${APPROVED}  exhausted  5         2025-03-01T10:00:09.500Z  HANDLER_FAILED`,
        'first 1 of 5 dead letters; --limit shows more',
        '',
      ].join('\n'),
      stderr: '',
    });
    expect(
      await runCli(['dlq', 'list', '--handler', 'receipts', '--reason', 'exhausted', ...store], {
        cwd: dir,
      }),
    ).toEqual({ code: 0, stdout: 'no dead letters\n', stderr: '' });
  });

  it('given an id, when showing it, then the whole entry: fields, error, stack and event', async () => {
    const result = await runCli(['dlq', 'show', id(0), ...store], { cwd: dir });

    const event = JSON.stringify(seeded[0]!.event, null, 2).replace(/^/gm, '    ');
    expect(result).toEqual({
      code: 0,
      stdout: [
        `dead letter ${id(0)}`,
        '  handler        balances',
        '  group          ledger.balances',
        '  origin         ledger.balances',
        '  reason         exhausted',
        '  attempts       5',
        '  first failure  2025-03-01T10:00:01.000Z',
        '  last failure   2025-03-01T10:00:09.500Z',
        `  dead-lettered  ${seeded[0]!.deadLetteredAt}`,
        '  error          HANDLER_FAILED: database is locked',
        '  details        {"handler":"balances","eventId":"e-1"}',
        '  stack',
        '    Error: database is locked',
        '        at handle (file:///app/ledger.mjs:12:11)',
        '  event e-1',
        event,
        '',
      ].join('\n'),
      stderr: '',
    });
  });

  it('given --json, when showing an id, then the dead letter is one JSON document', async () => {
    const result = await runCli(['dlq', 'show', id(2), '--json', ...store], { cwd: dir });

    expect(result).toEqual({ code: 0, stdout: `${JSON.stringify(seeded[2])}\n`, stderr: '' });
  });

  describe('given bad input', () => {
    const cases = () => [
      {
        name: 'an unknown id to show',
        args: ['dlq', 'show', 'no-such-id'],
        code: 1,
        stderr: 'error [DEAD_LETTER_NOT_FOUND]: no dead letter no-such-id\n  id: no-such-id',
      },
      {
        name: 'show without an id (usage)',
        args: ['dlq', 'show'],
        code: 2,
        stderr:
          "error [INVALID_ARGUMENT]: missing required argument 'id'\n  help: eventfabric dlq show --help",
      },
      {
        name: 'a --limit of 0 (usage)',
        args: ['dlq', 'list', '--limit', '0'],
        code: 2,
        stderr:
          "error [INVALID_ARGUMENT]: option '-n, --limit <n>' argument '0' is invalid. expected an integer ≥ 1\n" +
          '  help: eventfabric dlq list --help',
      },
      {
        name: 'a --limit that is not a number (usage)',
        args: ['dlq', 'list', '--limit', 'ten'],
        code: 2,
        stderr:
          "error [INVALID_ARGUMENT]: option '-n, --limit <n>' argument 'ten' is invalid. expected an integer ≥ 1\n" +
          '  help: eventfabric dlq list --help',
      },
      {
        name: 'an unknown --reason (usage)',
        args: ['dlq', 'list', '--reason', 'expired'],
        code: 2,
        stderr:
          "error [INVALID_ARGUMENT]: option '--reason <reason>' argument 'expired' is invalid. " +
          'Allowed choices are exhausted, non_retryable, poison, malformed.\n' +
          '  help: eventfabric dlq list --help',
      },
      {
        name: '--reason malformed on the store (usage: RabbitMQ only)',
        args: ['dlq', 'list', '--reason', 'malformed'],
        code: 2,
        stderr:
          'error [INVALID_ARGUMENT]: --reason malformed names messages of RabbitMQ .dlq queues: add --transport amqp://…\n' +
          '  help: eventfabric dlq list --help',
      },
      ...[
        ['dlq', 'list', '--handler', 'balance'],
        ['dlq', 'purge', '--handler', 'balance', '--yes'],
        ['dlq', 'retry', '--handler', 'balance'],
      ].map((args) => ({
        name: `a --handler the config lacks, to ${args[1]}`,
        args,
        code: 1,
        stderr: [
          'error [INVALID_ARGUMENT]: unknown handler "balance"; the config has balances, receipts',
          '  handler: balance',
          '  known: ["balances","receipts"]',
        ].join('\n'),
      })),
      {
        name: 'retry without ids, filters or --all (usage)',
        args: ['dlq', 'retry'],
        code: 2,
        stderr:
          'error [INVALID_ARGUMENT]: name the dead letters to retry: ids, filters (--handler, --type) or --all\n' +
          '  help: eventfabric dlq retry --help',
      },
      {
        name: 'retry with --all and an id (usage)',
        args: ['dlq', 'retry', '--all', id(1)],
        code: 2,
        stderr:
          'error [INVALID_ARGUMENT]: --all takes every dead letter; do not combine it with ids or filters\n' +
          '  help: eventfabric dlq retry --help',
      },
      {
        name: 'retry with a known id and an unknown one',
        args: ['dlq', 'retry', id(1), 'no-such-id'],
        code: 1,
        stderr: 'error [DEAD_LETTER_NOT_FOUND]: no dead letter no-such-id\n  id: no-such-id',
      },
      {
        name: 'purge without ids, filters or --all (usage)',
        args: ['dlq', 'purge', '--yes'],
        code: 2,
        stderr:
          'error [INVALID_ARGUMENT]: name the dead letters to purge: ids, filters (--handler, --type, --reason) or --all\n' +
          '  help: eventfabric dlq purge --help',
      },
      {
        name: 'purge without --yes when stdin is not a terminal (usage)',
        args: ['dlq', 'purge', id(1)],
        code: 2,
        stderr:
          'error [INVALID_ARGUMENT]: dlq purge asks for confirmation, and stdin is not a terminal: pass --yes\n' +
          '  help: eventfabric dlq purge --help',
      },
      {
        name: 'purge with an unknown id',
        args: ['dlq', 'purge', id(1), 'no-such-id', '--yes'],
        code: 1,
        stderr: 'error [DEAD_LETTER_NOT_FOUND]: no dead letter no-such-id\n  id: no-such-id',
      },
    ];

    it('rejects each with its code and message, and changes nothing', async () => {
      // The cases only read, so they run side by side.
      const results = await Promise.all(
        cases().map(async (c) => ({
          c,
          result: await runCli([...c.args, ...store], { cwd: dir }),
        })),
      );

      for (const { c, result } of results) {
        expect(result, c.name).toEqual({ code: c.code, stdout: '', stderr: `${c.stderr}\n` });
      }
      expect(await listDeadLetters(path)).toEqual(seeded);
      expect(await readLedger(path)).toEqual({ balances: {}, processed: [] });
    });
  });
});

describe('eventfabric dlq retry', () => {
  it('given a dead letter whose cause is gone, when retrying its id, then its write commits with the record and it leaves the queue', async () => {
    const path = join(dir, 'retry-one.db');
    const [fixed, other] = await seedDeadLetters(path, [
      { handler: 'balances', event: treasuryEvent({ id: 'e-10', member: 7, cents: 50 }) },
      { handler: 'balances', event: treasuryEvent({ id: 'e-11', member: 7, cents: 20 }) },
    ]);
    const args = ['dlq', 'retry', fixed!.id, ...storeArgs(path)];

    const first = await runCli(args, { cwd: dir });
    const again = await runCli(args, { cwd: dir });

    expect(first).toEqual({
      code: 0,
      stdout: `redriven  ${fixed!.id}  balances  ${APPROVED}\n1 redriven, 0 failed, 0 held back\n`,
      stderr: '',
    });
    expect(again).toEqual({
      code: 1,
      stdout: '',
      stderr: `error [DEAD_LETTER_NOT_FOUND]: no dead letter ${fixed!.id}\n  id: ${fixed!.id}\n`,
    });
    expect(await listDeadLetters(path)).toEqual([other]);
    expect(await readLedger(path)).toEqual({
      balances: { 'm-7': 50 },
      processed: ['balances e-10'],
    });
  });

  it('given two dead letters of one partition key whose first still fails, when retrying, then the second is held back and other keys go on', async () => {
    const path = join(dir, 'retry-order.db');
    const [stillFails, later, otherKey] = await seedDeadLetters(path, [
      { handler: 'balances', event: treasuryEvent({ id: 'e-20', member: 9, cents: -1 }) },
      { handler: 'balances', event: treasuryEvent({ id: 'e-21', member: 9, cents: 50 }) },
      { handler: 'balances', event: treasuryEvent({ id: 'e-22', member: 3, cents: 5 }) },
    ]);

    const result = await runCli(['dlq', 'retry', '--handler', 'balances', ...storeArgs(path)], {
      cwd: dir,
    });

    expect(result).toEqual({
      code: 1,
      stdout: [
        `failed     ${stillFails!.id}  balances  ${APPROVED}`,
        '  HANDLER_FAILED: negative amount -1 for m-9',
        `held back  ${later!.id}  balances  ${APPROVED}`,
        '  waits for an earlier dead letter of partition key member-9 that failed',
        `redriven   ${otherKey!.id}  balances  ${APPROVED}`,
        '1 redriven, 1 failed, 1 held back; the failed and held back stay dead letters',
        '',
      ].join('\n'),
      stderr: '',
    });
    expect(await listDeadLetters(path)).toEqual([stillFails, later]);
    expect(await readLedger(path)).toEqual({
      balances: { 'm-3': 5 },
      processed: ['balances e-22'],
    });
  });

  it('given --type, when retrying, then only dead letters of that type run, and none left is not an error', async () => {
    const path = join(dir, 'retry-type.db');
    const [approved, refund] = await seedDeadLetters(path, [
      { handler: 'balances', event: treasuryEvent({ id: 'e-40', member: 5, cents: 30 }) },
      {
        handler: 'balances',
        event: treasuryEvent({ id: 'e-41', member: 5, cents: 10, type: REFUNDED }),
      },
    ]);

    const result = await runCli(['dlq', 'retry', '--type', REFUNDED, ...storeArgs(path)], {
      cwd: dir,
    });
    const nothing = await runCli(['dlq', 'retry', '--type', REFUNDED, ...storeArgs(path)], {
      cwd: dir,
    });

    expect(result).toEqual({
      code: 0,
      stdout: `redriven  ${refund!.id}  balances  ${REFUNDED}\n1 redriven, 0 failed, 0 held back\n`,
      stderr: '',
    });
    expect(nothing).toEqual({ code: 0, stdout: 'no dead letters to retry\n', stderr: '' });
    expect(await listDeadLetters(path)).toEqual([approved]);
    expect(await readLedger(path)).toEqual({
      balances: { 'm-5': -10 },
      processed: ['balances e-41'],
    });
  });

  it('given --all, when a dead letter names a handler the config lacks, then it fails with INVALID_CONFIG and stays, and follow-ups of the others are stored', async () => {
    const path = join(dir, 'retry-all.db');
    const [legacy, receipt] = await seedDeadLetters(path, [
      { handler: 'legacy', event: treasuryEvent({ id: 'e-30', member: 4, cents: 10 }) },
      { handler: 'receipts', event: treasuryEvent({ id: 'e-31', member: 4, cents: 10 }) },
    ]);

    const result = await runCli(['dlq', 'retry', '--all', '--json', ...storeArgs(path)], {
      cwd: dir,
    });

    expect(result).toEqual({
      code: 1,
      stdout: `${JSON.stringify({
        redriven: [receipt!.id],
        failed: [
          {
            id: legacy!.id,
            code: 'INVALID_CONFIG',
            message: 'handler "legacy" is not in the config (it has balances, receipts)',
          },
        ],
        heldBack: [],
      })}\n`,
      stderr: '',
    });
    expect(await listDeadLetters(path)).toEqual([legacy]);
    const store = createSqliteEventStore({ path });
    const log = await store.readAll();
    await store.close();
    // Published through the SQLite transport into the store's log, from the config's service.
    expect(log).toMatchObject([
      {
        type: 'treasury.receipt.sent.v1',
        subject: 'receipt-e-31',
        source: '/ledger',
        data: { member: 'm-4' },
        correlationid: 'e-31',
        causationid: 'e-31',
        position: '1',
      },
    ]);
  });

  it('given a working directory without a config file, when retrying, then INVALID_CONFIG and nothing changes', async () => {
    const path = join(dir, 'retry-bare.db');
    const seeded = await seedDeadLetters(path, [
      { handler: 'balances', event: treasuryEvent({ id: 'e-50', member: 1, cents: 1 }) },
    ]);
    const bare = join(dir, 'bare');
    mkdirSync(bare, { recursive: true });

    const result = await runCli(['dlq', 'retry', '--all', ...storeArgs(path)], { cwd: bare });

    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr:
        'error [INVALID_CONFIG]: dlq retry runs handlers, and there is no config file: export them ' +
        'from eventfabric.config.mjs (export default { handlers: [...] })\n',
    });
    expect(await listDeadLetters(path)).toEqual(seeded);
  });
});

describe('eventfabric dlq purge', () => {
  it('given --yes and filters, when purging, then only the matching dead letters are removed', async () => {
    const path = join(dir, 'purge.db');
    const store = storeArgs(path);
    const [kept, poison, receipt] = await seedDeadLetters(path, [
      { handler: 'balances', event: treasuryEvent({ id: 'e-60', member: 1, cents: 1 }) },
      {
        handler: 'balances',
        event: treasuryEvent({ id: 'e-61', member: 1, cents: 2 }),
        reason: 'poison',
      },
      {
        handler: 'receipts',
        event: treasuryEvent({ id: 'e-62', member: 1, cents: 3 }),
        reason: 'poison',
      },
    ]);

    const byFilter = await runCli(
      ['dlq', 'purge', '--handler', 'balances', '--reason', 'poison', '--yes', ...store],
      { cwd: dir },
    );
    const remaining = await listDeadLetters(path);
    const all = await runCli(['dlq', 'purge', '--all', '--yes', '--json', ...store], { cwd: dir });
    const none = await runCli(['dlq', 'purge', '--all', '--yes', ...store], { cwd: dir });

    expect(byFilter).toEqual({ code: 0, stdout: 'removed 1 dead letter\n', stderr: '' });
    expect(remaining).toEqual([kept, receipt]);
    expect(poison!.reason).toBe('poison');
    expect(all).toEqual({ code: 0, stdout: '{"removed":2}\n', stderr: '' });
    expect(none).toEqual({
      code: 0,
      stdout: 'no dead letters match; nothing removed\n',
      stderr: '',
    });
    expect(await listDeadLetters(path)).toEqual([]);
  });

  it('given a terminal and no --yes, when purging, then it asks: anything but y keeps them, y removes them', async () => {
    const path = join(dir, 'purge-tty.db');
    const [entry] = await seedDeadLetters(path, [
      { handler: 'balances', event: treasuryEvent({ id: 'e-70', member: 1, cents: 1 }) },
    ]);
    const args = ['dlq', 'purge', entry!.id, ...storeArgs(path)];

    const declined = await runOnTerminal(args, 'n\n');
    const afterDeclined = await listDeadLetters(path);
    const accepted = await runOnTerminal(args, 'y\n');

    const question = 'remove 1 dead letter for good? [y/N] ';
    expect(declined).toEqual({
      code: 1,
      stdout: '',
      stderr: `${question}cancelled; nothing removed\n`,
    });
    expect(afterDeclined).toEqual([entry]);
    expect(accepted).toEqual({ code: 0, stdout: 'removed 1 dead letter\n', stderr: question });
    expect(await listDeadLetters(path)).toEqual([]);
  });
});

/** Run the CLI in-process with stdin flagged as a terminal, answering `input`. */
async function runOnTerminal(args: string[], input: string) {
  const stdin = Object.assign(new PassThrough(), { isTTY: true });
  const io: CliIo = { stdin, stdout: new PassThrough(), stderr: new PassThrough() };
  stdin.end(input);
  const code = await main(['node', 'eventfabric', ...args], io);
  const text = (stream: unknown) =>
    ((stream as PassThrough).read() as Buffer | null)?.toString() ?? '';
  return { code, stdout: text(io.stdout), stderr: text(io.stderr) };
}
