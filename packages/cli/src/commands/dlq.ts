import { createInterface } from 'node:readline';
import { Option, type Command } from 'commander';
import type { DeadLetter, DeadLetterReason } from '@eventfabric/core';
import { parsePositiveInteger } from '../arguments.js';
import type { ActionRunner, CommandContext } from '../context.js';
import {
  ALL_DEAD_LETTERS,
  assertDeadLettersExist,
  assertKnownHandler,
  withDeadLetters,
  type DeadLetterSelection,
} from '../dead-letters.js';
import { parseServiceName } from '../handlers.js';
import { ExitCode, UsageError, plural, type CliIo } from '../output.js';
import { formatTable } from '../table.js';
import { resolveBroker } from '../transport-url.js';
import {
  listQueuedDeadLetters,
  purgeQueuedDeadLetters,
  retryQueuedDeadLetters,
  showQueuedDeadLetter,
  type QueuedSelection,
} from './dlq-rabbitmq.js';
import { retryDeadLetters } from './dlq-retry.js';

/** The reasons an event ends in the dead letters, as `--reason` takes them. */
export const DEAD_LETTER_REASONS: readonly DeadLetterReason[] = [
  'exhausted',
  'non_retryable',
  'poison',
];

/** `--reason malformed`: RabbitMQ `.dlq` messages that are not CloudEvents. */
const MALFORMED = 'malformed';

/** Options of the RabbitMQ mode, on every dlq subcommand. */
interface BrokerOptions {
  transport?: string;
  queue?: string;
}

interface ListCommandOptions extends BrokerOptions {
  handler?: string;
  type?: string;
  reason?: DeadLetterReason | typeof MALFORMED;
  limit?: number;
}

interface PurgeCommandOptions extends Omit<DeadLetterSelection, 'ids' | 'reason'>, BrokerOptions {
  reason?: DeadLetterReason | typeof MALFORMED;
  yes?: boolean;
}

/** The `--transport`, `--queue` and `--service` options of the RabbitMQ mode. */
function brokerOptions(command: Command): Command {
  return command
    .option(
      '--transport <url>',
      "RabbitMQ: work on the <queue>.dlq queues instead of the store's dead letters " +
        '(amqp://user:password@host:port/vhost; env EVENTFABRIC_TRANSPORT)',
    )
    .option(
      '--queue <name>',
      "with --transport: this work queue's .dlq (default: <service>.<handler> of each configured handler)",
    )
    .option(
      '--service <name>',
      'the service the handlers run in (default: EVENTFABRIC_SERVICE, config file, or app)',
      parseServiceName,
    );
}

/** `--reason malformed` names RabbitMQ `.dlq` messages only. */
function assertStoreReason(reason: string | undefined, command: string): void {
  if (reason === MALFORMED) {
    throw new UsageError(
      '--reason malformed names messages of RabbitMQ .dlq queues: add --transport amqp://…',
      `eventfabric dlq ${command} --help`,
    );
  }
}

/** With `--queue` but no broker: a usage error, since only RabbitMQ has queues to name. */
function assertNoQueue(options: BrokerOptions, command: string): void {
  if (options.queue !== undefined) {
    throw new UsageError(
      '--queue names a RabbitMQ queue: add --transport amqp://…',
      `eventfabric dlq ${command} --help`,
    );
  }
}

export function registerDlqCommand(program: Command, run: ActionRunner): void {
  const dlq = program
    .command('dlq')
    .summary('list, show, retry and purge dead letters')
    .description(
      "the dead letters kept in the store's file: events a handler failed on for good, each " +
        'with its error, attempts and failure times. List, show, re-drive and purge them. ' +
        'With --transport amqp://… (or EVENTFABRIC_TRANSPORT), the same on the RabbitMQ ' +
        '<queue>.dlq queues',
    )
    .addHelpText(
      'after',
      `
retry runs the handlers of the config file (eventfabric.config.mjs: export default
{ handlers: [...] }) in this process. With --transport amqp://…, retry publishes the dead
letters back to their work queue, where the running consumers take them.

Examples:
  $ eventfabric dlq list --handler balances
  $ eventfabric dlq show 0198c2d4-7f3a-7c4e-9a51-3f0e2b6d8a11
  $ eventfabric dlq retry --handler balances
  $ eventfabric dlq purge --reason poison --yes
  $ eventfabric dlq list --transport amqp://guest:guest@127.0.0.1:5672`,
    );

  const list = dlq
    .command('list')
    .summary('list dead letters, oldest first')
    .description(
      'list dead letters in the order they were added: id, handler, event type, reason, ' +
        'attempts, last failure and error code; with --json one whole dead letter per line',
    )
    .option('--handler <name>', 'only those of this handler')
    .option('-t, --type <type>', 'only those whose event is of this type')
    .addOption(
      new Option('--reason <reason>', 'only those dead-lettered for this reason').choices([
        ...DEAD_LETTER_REASONS,
        MALFORMED,
      ]),
    )
    .option('-n, --limit <n>', 'list at most n (default 1000)', parsePositiveInteger);
  brokerOptions(list)
    .addHelpText(
      'after',
      `
Filters are AND-ed. --json prints NDJSON: each line a whole dead letter (event, error,
attempts, failure times, origin; on RabbitMQ also its queue). Reason malformed (a message
that is not a CloudEvent) exists on RabbitMQ only.

Examples:
  $ eventfabric dlq list
  $ eventfabric dlq list --reason poison --json | jq -r .id
  $ eventfabric dlq list --transport amqp://guest:guest@127.0.0.1:5672 --handler balances`,
    )
    .action(
      run(async (ctx, command) => {
        const options = command.opts<ListCommandOptions>();
        const broker = resolveBroker(options.transport, 'dlq list');
        if (broker) return listQueuedDeadLetters(ctx, broker, options as QueuedSelection);
        assertNoQueue(options, 'list');
        assertStoreReason(options.reason, 'list');
        return listDeadLetters(ctx, { ...options, reason: options.reason as DeadLetterReason });
      }),
    );

  const show = dlq
    .command('show')
    .summary('show one dead letter whole')
    .description(
      'show one dead letter whole: its event, the error (code, message, details, stack), ' +
        'attempts, first and last failure, handler, group and origin',
    )
    .argument('<id>', 'dead-letter id, as dlq list prints it');
  brokerOptions(show)
    .addHelpText(
      'after',
      `
Example:
  $ eventfabric dlq show 0198c2d4-7f3a-7c4e-9a51-3f0e2b6d8a11 --json | jq .event.data`,
    )
    .action(
      run(async (ctx, command) => {
        const options = command.opts<BrokerOptions>();
        const id = (command.processedArgs as [string])[0];
        const broker = resolveBroker(options.transport, 'dlq show');
        if (broker) return showQueuedDeadLetter(ctx, broker, options, id);
        assertNoQueue(options, 'show');
        return showDeadLetter(ctx, id);
      }),
    );

  const retry = dlq
    .command('retry')
    .summary('re-run dead letters through their handler, in order')
    .description(
      're-run dead letters through their handler (from the config file), oldest first, ' +
        'removing each that succeeds. When one fails, later dead letters of its handler and ' +
        'partition key are held back, so a key is never handled out of order',
    )
    .argument('[ids...]', 'dead-letter ids')
    .option('--handler <name>', 'those of this handler')
    .option('-t, --type <type>', 'those whose event is of this type')
    .option('--all', 'every dead letter');
  brokerOptions(retry)
    .addHelpText(
      'after',
      `
Name the dead letters: ids, --handler and/or --type (AND-ed), or --all. A dead letter whose
handler is not in the config file fails with INVALID_CONFIG and stays. Follow-up events a
handler publishes are appended to the store's log. Exits 1 when any dead letter failed.

With --transport amqp://…, each selected dead letter is published to its work queue, oldest
first, and leaves its .dlq once the broker confirms the copy; the running consumers handle
it. No handlers run in this process.

Examples:
  $ eventfabric dlq retry 0198c2d4-7f3a-7c4e-9a51-3f0e2b6d8a11
  $ eventfabric dlq retry --handler balances --type treasury.contribution.approved.v1
  $ eventfabric dlq retry --all --json
  $ eventfabric dlq retry --all --transport amqp://guest:guest@127.0.0.1:5672`,
    )
    .action(
      run(async (ctx, command) => {
        const options = command.opts<Omit<DeadLetterSelection, 'ids'> & BrokerOptions>();
        const selection = { ...options, ids: command.processedArgs[0] as string[] };
        assertSelection(selection, 'retry', options.queue !== undefined);
        const broker = resolveBroker(options.transport, 'dlq retry');
        if (broker) return retryQueuedDeadLetters(ctx, broker, selection);
        assertNoQueue(options, 'retry');
        return retryDeadLetters(ctx, selection);
      }),
    );

  const purge = dlq
    .command('purge')
    .summary('delete dead letters')
    .description('delete dead letters for good; asks first unless --yes is given')
    .argument('[ids...]', 'dead-letter ids')
    .option('--handler <name>', 'those of this handler')
    .option('-t, --type <type>', 'those whose event is of this type')
    .addOption(
      new Option('--reason <reason>', 'those dead-lettered for this reason').choices([
        ...DEAD_LETTER_REASONS,
        MALFORMED,
      ]),
    )
    .option('--all', 'every dead letter')
    .option('-y, --yes', 'do not ask for confirmation (needed when stdin is not a terminal)');
  brokerOptions(purge)
    .addHelpText(
      'after',
      `
Name the dead letters: ids, --handler, --type and/or --reason (AND-ed), or --all. Prints
how many were removed.

Examples:
  $ eventfabric dlq purge 0198c2d4-7f3a-7c4e-9a51-3f0e2b6d8a11
  $ eventfabric dlq purge --handler mailer --reason poison --yes
  $ eventfabric dlq purge --queue ledger.balances --reason malformed --yes --transport amqp://…`,
    )
    .action(
      run(async (ctx, command) => {
        const options = command.opts<PurgeCommandOptions>();
        const selection = { ...options, ids: command.processedArgs[0] as string[] };
        assertSelection(selection, 'purge', options.queue !== undefined);
        if (options.yes !== true && !isTerminal(ctx.io.stdin)) {
          throw new UsageError(
            'dlq purge asks for confirmation, and stdin is not a terminal: pass --yes',
            'eventfabric dlq purge --help',
          );
        }
        const broker = resolveBroker(options.transport, 'dlq purge');
        if (broker) {
          return purgeQueuedDeadLetters(ctx, broker, selection, (question) =>
            options.yes === true ? Promise.resolve(true) : confirm(ctx.io, question),
          );
        }
        assertNoQueue(options, 'purge');
        assertStoreReason(options.reason, 'purge');
        return purgeDeadLetters(
          ctx,
          { ...selection, reason: options.reason as DeadLetterReason },
          options.yes === true,
        );
      }),
    );
}

async function listDeadLetters(
  ctx: CommandContext,
  options: Omit<ListCommandOptions, 'reason'> & { reason?: DeadLetterReason },
): Promise<void> {
  await withDeadLetters(ctx, async (deadLetters, _opened, config) => {
    await assertKnownHandler(options.handler, config, deadLetters);
    const filter = { handler: options.handler, type: options.type, reason: options.reason };
    const entries = await deadLetters.list({ ...filter, limit: options.limit ?? 1000 });
    for (const entry of entries) ctx.out.data(entry);
    if (ctx.out.json) return;
    if (entries.length === 0) {
      ctx.out.say('no dead letters');
      return;
    }
    const rows = [
      ['ID', 'HANDLER', 'TYPE', 'REASON', 'ATTEMPTS', 'LAST FAILURE', 'ERROR'],
      ...entries.map((e) => [
        e.id,
        e.handler,
        e.event.type,
        e.reason,
        String(e.attempts),
        e.lastFailedAt,
        e.error.code,
      ]),
    ];
    for (const line of formatTable(rows)) ctx.out.say(line);
    const total = await deadLetters.count(filter);
    ctx.out.say(
      total > entries.length
        ? `first ${entries.length} of ${total} dead letters; --limit shows more`
        : `${total} ${plural(total, 'dead letter')}`,
    );
  });
}

async function showDeadLetter(ctx: CommandContext, id: string): Promise<void> {
  await withDeadLetters(ctx, async (deadLetters) => {
    const entry = await deadLetters.get(id);
    ctx.out.result(formatDeadLetter(entry).join('\n'), entry);
  });
}

/** A dead letter as people read it: its fields, the error's stack, then the event as JSON. */
export function formatDeadLetter(entry: DeadLetter): string[] {
  const fields = formatTable([
    ['handler', entry.handler],
    ['group', entry.group],
    ['origin', entry.origin],
    ['reason', entry.reason],
    ['attempts', String(entry.attempts)],
    ['first failure', entry.firstFailedAt],
    ['last failure', entry.lastFailedAt],
    ['dead-lettered', entry.deadLetteredAt],
    ['error', `${entry.error.code}: ${entry.error.message}`],
    ...(entry.error.details === undefined || Object.keys(entry.error.details).length === 0
      ? []
      : [['details', JSON.stringify(entry.error.details)]]),
  ]);
  const indent = (text: string) => text.split('\n').map((line) => `    ${line}`);
  return [
    `dead letter ${entry.id}`,
    ...fields.map((line) => `  ${line}`),
    ...(entry.error.stack === undefined ? [] : ['  stack', ...indent(entry.error.stack)]),
    `  event ${entry.event.id}`,
    ...indent(JSON.stringify(entry.event, null, 2)),
  ];
}

async function purgeDeadLetters(
  ctx: CommandContext,
  selection: DeadLetterSelection,
  confirmed: boolean,
): Promise<number> {
  return withDeadLetters(ctx, async (deadLetters, _opened, config) => {
    await assertKnownHandler(selection.handler, config, deadLetters);
    const ids = [...new Set(selection.ids)];
    await assertDeadLettersExist(deadLetters, ids);
    const selected = await deadLetters.list({
      ids: ids.length > 0 ? ids : undefined,
      handler: selection.handler,
      type: selection.type,
      reason: selection.reason,
      limit: ALL_DEAD_LETTERS,
    });
    if (selected.length === 0) {
      ctx.out.result('no dead letters match; nothing removed', { removed: 0 });
      return ExitCode.ok;
    }
    const what = `${selected.length} ${plural(selected.length, 'dead letter')}`;
    if (!confirmed && !(await confirm(ctx.io, `remove ${what} for good? [y/N] `))) {
      ctx.io.stderr.write('cancelled; nothing removed\n');
      return ExitCode.failure;
    }
    const removed = await deadLetters.remove(selected.map((e) => e.id));
    ctx.out.result(`removed ${removed} ${plural(removed, 'dead letter')}`, { removed });
    return ExitCode.ok;
  });
}

/**
 * Ids, filters or `--all`, and never `--all` with the others: a usage error otherwise. A
 * `--queue` is a filter of its own (all of that queue's dead letters).
 */
function assertSelection(
  selection: Omit<DeadLetterSelection, 'reason'> & { reason?: string },
  command: 'retry' | 'purge',
  queue = false,
): void {
  const filtered =
    queue ||
    selection.handler !== undefined ||
    selection.type !== undefined ||
    selection.reason !== undefined;
  const help = `eventfabric dlq ${command} --help`;
  if (selection.all === true && (selection.ids.length > 0 || filtered)) {
    throw new UsageError(
      '--all takes every dead letter; do not combine it with ids or filters',
      help,
    );
  }
  if (selection.all !== true && selection.ids.length === 0 && !filtered) {
    const filters = command === 'retry' ? '--handler, --type' : '--handler, --type, --reason';
    throw new UsageError(
      `name the dead letters to ${command}: ids, filters (${filters}) or --all`,
      help,
    );
  }
}

function isTerminal(stream: unknown): boolean {
  return (stream as { isTTY?: boolean }).isTTY === true;
}

/** Ask on stderr, read one line from stdin: true for y or yes. End of input means no. */
async function confirm(io: CliIo, question: string): Promise<boolean> {
  io.stderr.write(question);
  const lines = createInterface({ input: io.stdin, terminal: false });
  try {
    const answer = await new Promise<string | undefined>((resolve) => {
      lines.once('line', resolve);
      lines.once('close', () => resolve(undefined));
    });
    return /^y(es)?$/i.test(answer?.trim() ?? '');
  } finally {
    lines.close();
  }
}
