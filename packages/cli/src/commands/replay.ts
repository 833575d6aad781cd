import { dirname, resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { InvalidArgumentError, type Command } from 'commander';
import {
  InMemoryProcessedEvents,
  InvalidArgumentError as AppendRefusedError,
  StoreUnavailableError,
  compileTopicPattern,
  parseReplayBound as parseCoreReplayBound,
  replay,
  replayRangeIsEmpty,
  type EventHandler,
  type HandlerContext,
  type ProcessedEvents,
  type ReplayBound,
  type ReplayProgress,
  type ReplayResult,
} from '@eventfabric/core';
import { SqliteProcessedEvents, makeDirectories } from '@eventfabric/sqlite';
import { collect } from '../arguments.js';
import type { ActionRunner, CommandContext } from '../context.js';
import { findHandler, parseServiceName, requireHandlers } from '../handlers.js';
import { ExitCode, UsageError } from '../output.js';
import { openStore, processedEvents } from '../store.js';
import { formatTable } from '../table.js';

interface ReplayCommandOptions {
  handler: string;
  from?: ReplayBound;
  to?: ReplayBound;
  type?: string[];
  stream?: string;
  correlation?: string;
  into?: string;
  dryRun?: boolean;
}

const BAR_WIDTH = 30;
/** Redraw the progress bar at most this often. */
const REDRAW_MS = 100;

export function registerReplayCommand(program: Command, run: ActionRunner): void {
  program
    .command('replay')
    .summary("re-run a handler over the store's log")
    .description(
      "re-run one handler from the config file over the store's $all log, in position order. " +
        'Events the handler already processed are skipped, so running it again changes nothing',
    )
    .requiredOption('--handler <name>', 'the handler to run (from the config file)')
    .option(
      '--from <position|time>',
      'first event: a global position, or an RFC 3339 time (inclusive)',
      parseReplayBound,
    )
    .option(
      '--to <position|time>',
      'last event: a global position, or an RFC 3339 time (inclusive; default: the head)',
      parseReplayBound,
    )
    .option(
      '-t, --type <pattern>',
      'only these types: a type or a pattern such as treasury.* (repeatable, OR-ed)',
      parseTypePattern,
    )
    .option('--stream <id>', 'only events of this stream')
    .option('--correlation <id>', 'only events of this flow (correlation id)')
    .option(
      '--into <path>',
      'keep the processed-event record, and ctx.tx, in this SQLite file instead of the store',
    )
    .option('--dry-run', 'count the events the handler would see; handle and write nothing')
    .option(
      '--service <name>',
      'the service the handler runs in (default: EVENTFABRIC_SERVICE, config file, or app)',
      parseServiceName,
    )
    .addHelpText(
      'after',
      `
A time bound compares with each event's time attribute. Filters are AND-ed with each other
and with the handler's own types. Follow-up events the handler publishes are dropped and
counted (suppressed), and ctx.append fails: nothing is sent or appended again. A failing
event is reported and the replay goes on; it exits 1 when any failed. A progress bar is
drawn on stderr when it is a terminal.

To rebuild a transactional handler's state, replay into a fresh file: its writes through
ctx.tx and its processed-event record go there, and the live store is only read.

Examples:
  $ eventfabric replay --handler balances --into rebuild/balances.db
  $ eventfabric replay --handler balances --type 'treasury.refund.*' --from 2025-01-01T00:00:00Z
  $ eventfabric replay --handler balances --stream member-7 --to 1200 --dry-run --json`,
    )
    .action(run((ctx, command) => runReplay(ctx, command.opts<ReplayCommandOptions>())));
}

async function runReplay(ctx: CommandContext, options: ReplayCommandOptions): Promise<number> {
  assertBoundsInOrder(options.from, options.to);
  const into = options.into === undefined ? undefined : parseIntoPath(options.into);
  const config = ctx.config();
  const handler = findHandler(requireHandlers(config, 'replay'), options.handler);
  const dryRun = options.dryRun === true;
  const opened = await openStore(config);
  try {
    // A dry run never consults the record, and must not create the --into file.
    const record: { processed: ProcessedEvents; close(): void } = dryRun
      ? { processed: new InMemoryProcessedEvents(), close: () => undefined }
      : into === undefined
        ? processedEvents(opened)
        : openRecord(into);
    const { processed } = record;
    const bar = isTerminal(ctx.io.stderr)
      ? new ProgressBar(ctx.io.stderr, `replaying ${handler.name}`, options)
      : undefined;
    try {
      const result = await replay({
        store: opened.store,
        handler: withoutAppend(handler),
        processed,
        service: config.service,
        schemas: opened.schemas,
        from: options.from,
        to: options.to,
        types: options.type,
        stream: options.stream,
        correlationId: options.correlation,
        dryRun,
        onProgress: bar && ((progress) => bar.draw(progress)),
      });
      bar?.finish(result);
      ctx.out.result(summary(handler.name, into, result).join('\n'), result);
      return result.failed > 0 ? ExitCode.failure : ExitCode.ok;
    } finally {
      record.close();
    }
  } finally {
    await opened.close();
  }
}

/**
 * The handler, with `ctx.append` failing. A replay re-runs old handlings and must not write
 * their follow-up events again; core's replay() suppresses `publish` but lets `append` reach
 * the live store, against its own contract (ReplayOptions.transport: "`context.append`
 * fails"). Until core enforces it, the CLI does, and the replay reports the failure.
 */
function withoutAppend(handler: EventHandler): EventHandler {
  const refuse = () =>
    Promise.reject(
      new AppendRefusedError(
        `a replay does not append follow-up events: ${handler.name} called ctx.append`,
        { handler: handler.name },
      ),
    );
  return {
    ...handler,
    handle: (event, context) =>
      handler.handle(
        event,
        Object.create(context, { append: { value: refuse } }) as HandlerContext,
      ),
  };
}

/** `--from` / `--to`: digits are a global position, anything else must be an RFC 3339 time. */
export function parseReplayBound(value: string): ReplayBound {
  try {
    return parseCoreReplayBound(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

/** `--type`: collected, each checked as a topic pattern. */
function parseTypePattern(value: string, previous: string[] | undefined): string[] {
  try {
    compileTopicPattern(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
  return collect(value, previous);
}

/** A `--from` after its `--to` (both positions, or both times) selects nothing: say so. */
function assertBoundsInOrder(from: ReplayBound | undefined, to: ReplayBound | undefined): void {
  if (replayRangeIsEmpty(from, to)) {
    throw new UsageError('--from is after --to: the range is empty', 'eventfabric replay --help');
  }
}

/** `--into`: a path, or a `sqlite:` URL, relative to the working directory. */
function parseIntoPath(value: string): string {
  const path = value.startsWith('sqlite:') ? value.slice('sqlite:'.length) : value;
  if (path === '') {
    throw new UsageError('--into needs a file path', 'eventfabric replay --help');
  }
  return path === ':memory:' ? path : resolve(path);
}

/** The processed-event record in the `--into` file, created and migrated if new. */
function openRecord(path: string): { processed: SqliteProcessedEvents; close(): void } {
  try {
    if (path !== ':memory:') makeDirectories(dirname(path));
    const processed = new SqliteProcessedEvents(path);
    return { processed, close: () => processed.close() };
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new StoreUnavailableError(`cannot open ${path}: ${reason}`, { path }, { cause: error });
  }
}

function summary(handler: string, into: string | undefined, result: ReplayResult): string[] {
  const range = `up to position ${result.position} of ${result.head}`;
  if (result.dryRun) {
    return [
      `dry run of ${handler}, ${range}: nothing handled, nothing written`,
      ...formatTable([
        ['scanned', String(result.scanned)],
        ['matched', String(result.matched)],
      ]).map((line) => `  ${line}`),
    ];
  }
  const rows = formatTable([
    ['scanned', String(result.scanned)],
    ['matched', String(result.matched)],
    ['handled', String(result.handled)],
    ['skipped', String(result.skipped), 'already processed'],
    ['failed', String(result.failed)],
    ['suppressed', String(result.suppressed), 'follow-up events, not sent'],
  ]).map((line) => `  ${line}`);
  const failures = result.failures.map(
    (f) => `    position ${f.position}, event ${f.eventId}: ${f.code}: ${f.message}`,
  );
  return [
    `replayed ${handler} into ${into ?? 'the store'}, ${range}`,
    ...rows.slice(0, 5),
    ...failures,
    ...rows.slice(5),
  ];
}

function isTerminal(stream: unknown): boolean {
  return (stream as { isTTY?: boolean }).isTTY === true;
}

/** A one-line bar on a terminal, redrawn in place with `\r`. */
class ProgressBar {
  private lastDraw = -Infinity;
  private readonly start: bigint;
  private readonly end: bigint | undefined;

  constructor(
    private readonly stream: Writable,
    private readonly label: string,
    bounds: { from?: ReplayBound; to?: ReplayBound },
  ) {
    this.start =
      bounds.from !== undefined && 'position' in bounds.from
        ? BigInt(bounds.from.position) - 1n
        : 0n;
    this.end =
      bounds.to !== undefined && 'position' in bounds.to ? BigInt(bounds.to.position) : undefined;
  }

  draw(progress: ReplayProgress, force = false): void {
    const now = Date.now();
    if (!force && now - this.lastDraw < REDRAW_MS) return;
    this.lastDraw = now;
    const head = BigInt(progress.head);
    const end = this.end === undefined || this.end > head ? head : this.end;
    const span = end - this.start;
    const done = BigInt(progress.position) - this.start;
    const fraction = span <= 0n ? 1 : Math.min(1, Math.max(0, Number(done) / Number(span)));
    const filled = Math.round(fraction * BAR_WIDTH);
    const bar = '#'.repeat(filled) + '-'.repeat(BAR_WIDTH - filled);
    const percent = `${Math.floor(fraction * 100)}%`.padStart(4);
    this.stream.write(
      `\r${this.label} [${bar}] ${percent}  position ${progress.position}/${end}  ` +
        `handled ${progress.handled}, skipped ${progress.skipped}, failed ${progress.failed}\x1b[K`,
    );
  }

  finish(result: ReplayResult): void {
    this.draw(result, true);
    this.stream.write('\n');
  }
}
