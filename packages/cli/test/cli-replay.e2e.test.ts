import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReplayResult } from '@eventfabric/core';
import { main, type CliIo } from '../src/index.js';
import { inspectStore, runCli, tempDir } from './cli-harness.js';
import {
  appendTreasuryEvents,
  readLedger,
  writeLedgerConfig,
  type TreasuryEventSpec,
} from './fixtures/ledger.js';

// Replay re-runs one handler of the fixture config over the store's log. `balances` is
// transactional: with --into, its writes (through ctx.tx) and its processed-event record go
// to that file, so a fresh file ends up holding the balances the log implies.

const { dir, remove } = tempDir();
afterAll(remove);

const REFUNDED = 'treasury.refund.issued.v1';
/** The log, positions 1 to 7. Streams member-1 (1, 4, 5), member-2 (2, 7), member-3 (3, 6). */
const LOG: TreasuryEventSpec[] = [
  { id: 'c-1', member: 1, cents: 100, time: '2025-03-01T10:00:00.000Z' },
  { id: 'c-2', member: 2, cents: 200, time: '2025-03-01T10:01:00.000Z' },
  {
    id: 'p-1',
    member: 3,
    cents: 0,
    time: '2025-03-01T10:02:00.000Z',
    type: 'people.member.registered.v1',
  },
  { id: 'r-1', member: 1, cents: 30, time: '2025-03-01T10:03:00.000Z', type: REFUNDED },
  { id: 'c-3', member: 1, cents: 50, time: '2025-03-01T10:04:00.000Z' },
  { id: 'c-4', member: 3, cents: 70, time: '2025-03-01T10:05:00.000Z' },
  { id: 'r-2', member: 2, cents: 20, time: '2025-03-01T10:06:00.000Z', type: REFUNDED },
];

const APPROVED = 'treasury.contribution.approved.v1';
const typeOf = (e: TreasuryEventSpec) => e.type ?? APPROVED;
/** The events `balances` handles (it is on treasury.*), in log order. */
const handledBy = (events: TreasuryEventSpec[]) =>
  events.filter((e) => typeOf(e).startsWith('treasury.'));

/** What `balances` computes from some of the log: contributions add, refunds subtract. */
function expectedBalances(events: TreasuryEventSpec[]): Record<string, number> {
  const totals: Record<string, number> = {};
  for (const e of handledBy(events)) {
    const sign = typeOf(e) === REFUNDED ? -1 : 1;
    totals[`m-${e.member}`] = (totals[`m-${e.member}`] ?? 0) + sign * e.cents;
  }
  return totals;
}

/** The processed-event records `balances` leaves for some of the log. */
const processedOf = (events: TreasuryEventSpec[]) =>
  handledBy(events)
    .map((e) => `balances ${e.id}`)
    .sort();

/** The `--json` output of a replay: the ReplayResult of the whole log, with some fields set. */
function result(fields: Partial<ReplayResult>): string {
  const full: ReplayResult = {
    scanned: 7,
    matched: 6,
    handled: 6,
    skipped: 0,
    failed: 0,
    position: '7',
    head: '7',
    dryRun: false,
    suppressed: 0,
    failures: [],
    ...fields,
  };
  return `${JSON.stringify(full)}\n`;
}

describe('eventfabric replay', () => {
  const storePath = join(dir, 'ledger.db');
  const store = ['--store', `sqlite:${storePath}`];
  beforeAll(async () => {
    writeLedgerConfig(dir);
    await appendTreasuryEvents(storePath, LOG);
  });

  it('given a fresh file, when replaying balances into it twice, then it holds the totals of the log and the second run handles nothing', async () => {
    const fresh = join(dir, 'rebuild', 'balances.db');
    const args = ['replay', '--handler', 'balances', '--into', 'rebuild/balances.db', ...store];

    const first = await runCli(args, { cwd: dir });
    const afterFirst = await readLedger(fresh);
    const second = await runCli(args, { cwd: dir });

    const summary = (handled: number, skipped: number) =>
      [
        `replayed balances into ${fresh}, up to position 7 of 7`,
        '  scanned     7',
        '  matched     6',
        `  handled     ${handled}`,
        `  skipped     ${skipped}  already processed`,
        '  failed      0',
        '  suppressed  0  follow-up events, not sent',
        '',
      ].join('\n');
    expect(first).toEqual({ code: 0, stdout: summary(6, 0), stderr: '' });
    expect(afterFirst).toEqual({ balances: expectedBalances(LOG), processed: processedOf(LOG) });
    expect(afterFirst!.balances).toEqual({ 'm-1': 120, 'm-2': 180, 'm-3': 70 });
    expect(second).toEqual({ code: 0, stdout: summary(0, 6), stderr: '' });
    expect(await readLedger(fresh)).toEqual(afterFirst);
    // The live store was only read.
    expect(await readLedger(storePath)).toEqual({ balances: {}, processed: [] });
    expect(await inspectStore(storePath)).toEqual({ head: '7', streamVersion: undefined });
  });

  it('given --dry-run, when replaying, then it counts what would be handled and writes nothing, not even the --into file', async () => {
    const target = join(dir, 'dry.db');

    const human = await runCli(
      ['replay', '--handler', 'balances', '--dry-run', '--into', target, ...store],
      { cwd: dir },
    );
    const json = await runCli(
      ['replay', '--handler', 'balances', '--dry-run', '--json', ...store],
      {
        cwd: dir,
      },
    );

    expect(human).toEqual({
      code: 0,
      stdout: [
        'dry run of balances, up to position 7 of 7: nothing handled, nothing written',
        '  scanned  7',
        '  matched  6',
        '',
      ].join('\n'),
      stderr: '',
    });
    expect(json).toEqual({ code: 0, stdout: result({ handled: 0, dryRun: true }), stderr: '' });
    expect(existsSync(target)).toBe(false);
    expect(await readLedger(storePath)).toEqual({ balances: {}, processed: [] });
  });

  it('given filters, when replaying, then each handles exactly the events it selects', async () => {
    const cases = [
      {
        name: 'refunds only, by pattern',
        args: ['--type', 'treasury.refund.*'],
        events: LOG.filter((e) => e.type === REFUNDED),
        output: result({ matched: 2, handled: 2 }),
      },
      {
        name: 'one stream',
        args: ['--stream', 'member-1'],
        events: LOG.filter((e) => e.member === 1),
        output: result({ matched: 3, handled: 3 }),
      },
      {
        name: 'from a position',
        args: ['--from', '4'],
        events: LOG.slice(3),
        output: result({ scanned: 4, matched: 4, handled: 4 }),
      },
      {
        name: 'up to a time',
        args: ['--to', '2025-03-01T10:02:00Z'],
        events: LOG.slice(0, 2),
        output: result({ matched: 2, handled: 2 }),
      },
      {
        name: 'a position range, with a type',
        args: ['--from', '2', '--to', '5', '--type', APPROVED],
        events: [LOG[1]!, LOG[4]!],
        output: result({ scanned: 4, matched: 2, handled: 2, position: '5' }),
      },
      {
        name: 'one flow, by correlation id',
        args: ['--correlation', 'c-3'],
        events: [LOG[4]!],
        output: result({ scanned: 1, matched: 1, handled: 1, position: '5' }),
      },
    ];

    const runs = await Promise.all(
      cases.map(async (c, i) => {
        const target = join(dir, `filter-${i}.db`);
        const args = ['replay', '--handler', 'balances', '--json', '--into', target, ...c.args];
        return { c, target, run: await runCli([...args, ...store], { cwd: dir }) };
      }),
    );

    for (const { c, target, run } of runs) {
      expect(run, c.name).toEqual({ code: 0, stdout: c.output, stderr: '' });
      expect(await readLedger(target), c.name).toEqual({
        balances: expectedBalances(c.events),
        processed: processedOf(c.events),
      });
    }
  });

  it('given no --into, when replaying, then the record and writes go to the store, and follow-ups are suppressed', async () => {
    const path = join(dir, 'in-store.db');
    const own = ['--store', `sqlite:${path}`];
    await appendTreasuryEvents(path, LOG);

    const balances = await runCli(['replay', '--handler', 'balances', '--json', ...own], {
      cwd: dir,
    });
    const receipts = await runCli(['replay', '--handler', 'receipts', '--json', ...own], {
      cwd: dir,
    });

    expect(balances).toEqual({ code: 0, stdout: result({}), stderr: '' });
    expect(receipts).toEqual({
      code: 0,
      stdout: result({ matched: 4, handled: 4, suppressed: 4 }),
      stderr: '',
    });
    const receiptRecords = LOG.filter((e) => typeOf(e) === APPROVED).map((e) => `receipts ${e.id}`);
    expect(await readLedger(path)).toEqual({
      balances: expectedBalances(LOG),
      processed: [...processedOf(LOG), ...receiptRecords].sort(),
    });
    // Nothing was published: the receipts' follow-ups were dropped, not appended.
    expect(await inspectStore(path)).toEqual({ head: '7', streamVersion: undefined });
  });

  it('given an event the handler fails on, when replaying, then the failure is listed, the rest is handled, and it exits 1', async () => {
    const path = join(dir, 'failing.db');
    const events: TreasuryEventSpec[] = [
      { id: 'f-1', member: 1, cents: 100 },
      { id: 'f-2', member: 2, cents: -5 },
      { id: 'f-3', member: 2, cents: 200 },
    ];
    await appendTreasuryEvents(path, events);
    const target = join(dir, 'failing-rebuild.db');
    const args = ['replay', '--handler', 'balances', '--into', target, '--store', `sqlite:${path}`];

    const first = await runCli(args, { cwd: dir });
    const second = await runCli([...args, '--json'], { cwd: dir });

    expect(first).toEqual({
      code: 1,
      stdout: [
        `replayed balances into ${target}, up to position 3 of 3`,
        '  scanned     3',
        '  matched     3',
        '  handled     2',
        '  skipped     0  already processed',
        '  failed      1',
        '    position 2, event f-2: HANDLER_FAILED: negative amount -5 for m-2',
        '  suppressed  0  follow-up events, not sent',
        '',
      ].join('\n'),
      stderr: '',
    });
    expect(second).toEqual({
      code: 1,
      stdout: result({
        scanned: 3,
        matched: 3,
        handled: 0,
        skipped: 2,
        failed: 1,
        position: '3',
        head: '3',
        failures: [
          {
            eventId: 'f-2',
            position: '2',
            code: 'HANDLER_FAILED',
            message: 'negative amount -5 for m-2',
          },
        ],
      }),
      stderr: '',
    });
    expect(await readLedger(target)).toEqual({
      balances: { 'm-1': 100, 'm-2': 200 },
      processed: ['balances f-1', 'balances f-3'],
    });
  });

  it('given a handler that appends follow-ups, when replaying, then each append fails and is reported, and the log is unchanged', async () => {
    const path = join(dir, 'appending.db');
    await appendTreasuryEvents(path, LOG.slice(0, 2));
    const cwd = join(dir, 'appending');
    mkdirSync(cwd, { recursive: true });
    writeFileSync(
      join(cwd, 'eventfabric.config.mjs'),
      'export default { handlers: [{ name: "invoices", on: ["treasury.*"], async handle(event, ctx) {\n' +
        '  await ctx.append(`invoice-${event.id}`, [{ type: "billing.invoice.issued.v1", data: {} }]);\n' +
        '} }] };\n',
    );

    const run = await runCli(
      ['replay', '--handler', 'invoices', '--json', '--store', `sqlite:${path}`],
      { cwd },
    );

    const refused = (eventId: string, position: string) => ({
      eventId,
      position,
      code: 'INVALID_ARGUMENT',
      message: 'a replay does not append follow-up events: invoices called ctx.append',
    });
    expect(run).toEqual({
      code: 1,
      stdout: result({
        scanned: 2,
        matched: 2,
        handled: 0,
        failed: 2,
        position: '2',
        head: '2',
        failures: [refused('c-1', '1'), refused('c-2', '2')],
      }),
      stderr: '',
    });
    expect(await inspectStore(path)).toEqual({ head: '2', streamVersion: undefined });
  });

  it('given a terminal, when replaying, then a progress bar is redrawn on stderr and ends with a newline', async () => {
    const target = join(dir, 'progress.db');
    const stderr = Object.assign(new PassThrough(), { isTTY: true });
    const stdout = new PassThrough();
    const io: CliIo = { stdin: new PassThrough(), stdout, stderr };
    const args = ['replay', '--handler', 'balances', '--into', target, ...store];

    const code = await main(
      ['node', 'eventfabric', ...args, '--config', join(dir, 'eventfabric.config.mjs')],
      io,
    );

    const drawn = (stderr.read() as Buffer).toString();
    const frames = drawn.slice(0, -1).split('\r').slice(1);
    expect(code).toBe(0);
    expect(drawn.startsWith('\r')).toBe(true);
    expect(drawn.endsWith('\n')).toBe(true);
    expect(frames.at(-1)).toBe(
      `replaying balances [${'#'.repeat(30)}] 100%  position 7/7  handled 6, skipped 0, failed 0\x1b[K`,
    );
    expect((stdout.read() as Buffer).toString()).toMatch(/^replayed balances into /);
  });
});

describe('eventfabric replay, given bad input', () => {
  const storePath = join(dir, 'bad.db');
  const store = ['--store', `sqlite:${storePath}`];
  const target = join(dir, 'never.db');
  const project = (name: string, config?: string) => {
    const cwd = join(dir, name);
    mkdirSync(cwd, { recursive: true });
    if (config !== undefined) writeFileSync(join(cwd, 'eventfabric.config.mjs'), config);
    return cwd;
  };
  beforeAll(async () => {
    writeLedgerConfig(dir);
    await appendTreasuryEvents(storePath, LOG.slice(0, 2));
  });

  const cases = () => [
    {
      name: 'a handler the config lacks',
      args: ['--handler', 'balance'],
      code: 1,
      stderr: [
        'error [INVALID_ARGUMENT]: unknown handler "balance"; the config has balances, receipts',
        '  handler: balance',
        '  known: ["balances","receipts"]',
      ].join('\n'),
    },
    {
      name: 'no --handler (usage)',
      args: [],
      code: 2,
      stderr:
        "error [INVALID_ARGUMENT]: required option '--handler <name>' not specified\n" +
        '  help: eventfabric replay --help',
    },
    {
      name: 'a --from that is neither a position nor a time (usage)',
      args: ['--handler', 'balances', '--from', 'yesterday'],
      code: 2,
      stderr:
        "error [INVALID_ARGUMENT]: option '--from <position|time>' argument 'yesterday' is invalid. " +
        'expected a position (digits) or an RFC 3339 time, e.g. 2025-01-31T09:30:00Z\n' +
        '  help: eventfabric replay --help',
    },
    {
      name: 'a --to with an impossible date (usage)',
      args: ['--handler', 'balances', '--to', '2025-13-01T00:00:00Z'],
      code: 2,
      stderr:
        "error [INVALID_ARGUMENT]: option '--to <position|time>' argument '2025-13-01T00:00:00Z' is invalid. " +
        'expected a position (digits) or an RFC 3339 time, e.g. 2025-01-31T09:30:00Z\n' +
        '  help: eventfabric replay --help',
    },
    {
      name: 'a --from after the --to (usage)',
      args: ['--handler', 'balances', '--from', '5', '--to', '3'],
      code: 2,
      stderr:
        'error [INVALID_ARGUMENT]: --from is after --to: the range is empty\n' +
        '  help: eventfabric replay --help',
    },
    {
      name: 'a malformed --type pattern (usage)',
      args: ['--handler', 'balances', '--type', 'treasury..approved'],
      code: 2,
      stderr:
        "error [INVALID_ARGUMENT]: option '-t, --type <pattern>' argument 'treasury..approved' is invalid. " +
        'topic pattern "treasury..approved" has a malformed segment ""\n' +
        '  help: eventfabric replay --help',
    },
    {
      name: 'an upper-case --service (usage)',
      args: ['--handler', 'balances', '--service', 'Ledger'],
      code: 2,
      stderr:
        "error [INVALID_ARGUMENT]: option '--service <name>' argument 'Ledger' is invalid. " +
        'expected a lower-case service name: a letter, then letters, digits, _ or -\n' +
        '  help: eventfabric replay --help',
    },
    {
      name: 'an --into path that cannot be created',
      args: ['--handler', 'balances', '--into', '/proc/nope/rebuild.db'],
      code: 1,
      stderr:
        'error [STORE_UNAVAILABLE]: cannot open /proc/nope/rebuild.db: ENOENT\n' +
        '  path: /proc/nope/rebuild.db',
    },
  ];

  const configCases = () => [
    {
      name: 'no config file',
      config: undefined,
      stderr:
        'error [INVALID_CONFIG]: replay runs handlers, and there is no config file: export them ' +
        'from eventfabric.config.mjs (export default { handlers: [...] })',
    },
    {
      name: 'a default export that is not an object',
      config: 'export default [];',
      stderr:
        'error [INVALID_CONFIG]: eventfabric.config.mjs: the default export must be an object',
    },
    {
      name: 'no default export',
      config: 'export const handlers = [];',
      stderr:
        'error [INVALID_CONFIG]: eventfabric.config.mjs has no default export; write export default ' +
        '{ store, schemas, service, handlers, projections, sagas, hooks }',
    },
    {
      name: 'an unknown top-level key',
      config: 'export default { handler: [] };',
      stderr:
        'error [INVALID_CONFIG]: eventfabric.config.mjs: unknown field "handler" (known: store, ' +
        'schemas, service, handlers, projections, sagas, hooks)\n  field: handler',
    },
    {
      name: 'handlers that are not an array',
      config: 'export default { handlers: { balances: {} } };',
      stderr:
        'error [INVALID_CONFIG]: eventfabric.config.mjs: "handlers" must be an array of handlers',
    },
    {
      name: 'a handler without a name',
      config: 'export default { handlers: [{ on: ["treasury.*"], handle() {} }] };',
      stderr:
        'error [INVALID_CONFIG]: eventfabric.config.mjs: handlers[0] has no name (a non-empty string)\n' +
        '  handler: handlers[0]',
    },
    {
      name: 'a handler without on',
      config: 'export default { handlers: [{ name: "balances", handle() {} }] };',
      stderr:
        'error [INVALID_CONFIG]: eventfabric.config.mjs: handler "balances" (handlers[0]) needs "on": ' +
        'a non-empty array of event types or patterns\n  handler: balances',
    },
    {
      name: 'a handler without handle',
      config: 'export default { handlers: [{ name: "balances", on: ["treasury.*"] }] };',
      stderr:
        'error [INVALID_CONFIG]: eventfabric.config.mjs: handler "balances" (handlers[0]) needs a ' +
        'handle(event, context) function\n  handler: balances',
    },
    {
      name: 'a handler name used twice',
      config:
        'const h = { name: "balances", on: ["treasury.*"], handle() {} };\n' +
        'export default { handlers: [h, { ...h }] };',
      stderr:
        'error [INVALID_CONFIG]: eventfabric.config.mjs: handler name "balances" is used twice ' +
        '(handlers[0] and handlers[1])\n  handler: balances',
    },
    {
      name: 'a module with a syntax error',
      config: 'export default { handlers: [',
      stderr:
        'error [INVALID_CONFIG]: eventfabric.config.mjs cannot be loaded: SyntaxError: Unexpected ' +
        'end of input (node --check eventfabric.config.mjs shows where)',
    },
    {
      name: 'a module that throws on import',
      config: 'throw new Error("DATABASE_URL is not set");',
      stderr:
        'error [INVALID_CONFIG]: eventfabric.config.mjs cannot be loaded: Error: DATABASE_URL is not set',
    },
  ];

  it('rejects each with its code and message, and writes nothing', async () => {
    const runs = await Promise.all([
      ...cases().map(async (c) => ({
        name: c.name,
        code: c.code,
        stderr: c.stderr,
        run: await runCli(['replay', ...c.args, ...store], { cwd: dir }),
      })),
      ...configCases().map(async (c, i) => {
        const cwd = project(`bad-config-${i}`, c.config);
        const file = join(cwd, 'eventfabric.config.mjs');
        const details = c.config === undefined ? '' : `\n  file: ${file}`;
        // `file` comes first in the details, then the field or handler.
        const stderr = c.stderr.replace(/^([^\n]*)/, `$1${details}`);
        const args = ['replay', '--handler', 'balances', '--into', target, ...store];
        return { name: c.name, code: 1, stderr, run: await runCli(args, { cwd }) };
      }),
    ]);

    for (const { name, code, stderr, run } of runs) {
      expect(run, name).toEqual({ code, stdout: '', stderr: `${stderr}\n` });
    }
    expect(await inspectStore(storePath)).toEqual({ head: '2', streamVersion: undefined });
    expect(await readLedger(storePath)).toEqual({ balances: {}, processed: [] });
    expect(existsSync(target)).toBe(false);
  });
});
