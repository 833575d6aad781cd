import {
  DeadLetterNotFoundError,
  InvalidConfigError,
  NotFoundError,
  type RedriveResult,
} from '@eventfabric/core';
import {
  createRabbitMqTransport,
  type DeadLetterQueueSession,
  type QueuedDeadLetter,
  type QueuedDeadLetterReason,
  type RabbitMqTransport,
} from '@eventfabric/rabbitmq';
import type { CommandContext } from '../context.js';
import { unknownHandler } from '../handlers.js';
import { ExitCode, UsageError, plural } from '../output.js';
import { formatTable } from '../table.js';
import type { BrokerLocation } from '../transport-url.js';

// `eventfabric dlq … --transport amqp://…`: the same commands on RabbitMQ's `<queue>.dlq`
// queues. Each `.dlq` is read whole under its lock and every message not removed goes back
// in its place, so listing loses and reorders nothing.

/** How long a command waits for another reader of a `.dlq` to finish. */
const LOCK_WAIT_MS = 3000;

/** Which `.dlq` queues, and which of their dead letters, a command acts on. */
export interface QueuedSelection {
  /** A work queue (or its `.dlq`), instead of the config's handlers. */
  queue?: string;
  handler?: string;
  type?: string;
  reason?: QueuedDeadLetterReason;
  ids?: string[];
}

/** Open sessions on the selected `.dlq` queues, run `work`, release them all, close. */
async function withQueues<T>(
  ctx: CommandContext,
  broker: BrokerLocation,
  selection: QueuedSelection,
  work: (sessions: DeadLetterQueueSession[], transport: RabbitMqTransport) => Promise<T>,
): Promise<T> {
  if (broker.kind !== 'amqp') {
    throw new InvalidConfigError(
      `dlq --transport takes a RabbitMQ URL (amqp://…); ${broker.redacted} is NATS, whose dead ` +
        'letters the consumer keeps in its dead-letter store',
      { transport: broker.redacted },
    );
  }
  if (selection.queue !== undefined && selection.handler !== undefined) {
    throw new UsageError(
      '--queue names the queue; do not combine it with --handler',
      'eventfabric dlq --help',
    );
  }
  const config = ctx.config();
  const configured = config.handlers.map((h) => h.name);
  const transport = await createRabbitMqTransport({ url: broker.url });
  const sessions: DeadLetterQueueSession[] = [];
  try {
    const open = async (queue: string, missing: 'fail' | 'skip' | 'unknown-handler') => {
      try {
        // A scrape or a consumer reading the queue holds it for moments: wait that out.
        sessions.push(await transport.openDeadLetterQueue(queue, { waitMs: LOCK_WAIT_MS }));
      } catch (error) {
        if (!(error instanceof NotFoundError) || missing === 'fail') throw error;
        if (missing === 'unknown-handler')
          throw unknownHandler(selection.handler!, config.handlers);
      }
    };
    if (selection.queue !== undefined) await open(selection.queue, 'fail');
    else if (selection.handler !== undefined) {
      // A handler no longer configured is still reachable while its `.dlq` exists.
      const known = configured.includes(selection.handler);
      await open(`${config.service}.${selection.handler}`, known ? 'skip' : 'unknown-handler');
    } else {
      if (configured.length === 0) {
        throw new InvalidConfigError(
          'name the queue (--queue <service>.<handler>) or configure handlers: their ' +
            '<service>.<handler>.dlq queues are the ones read',
          { handlers: [] },
        );
      }
      for (const name of configured) await open(`${config.service}.${name}`, 'skip');
    }
    return await work(sessions, transport);
  } finally {
    // Commands that removed something released their sessions already, and heard the outcome.
    for (const session of sessions) await session.release().catch(() => undefined);
    await transport.close();
  }
}

function matches(entry: QueuedDeadLetter, selection: QueuedSelection): boolean {
  return (
    (selection.type === undefined || entry.event?.type === selection.type) &&
    (selection.reason === undefined || entry.reason === selection.reason) &&
    (selection.ids === undefined || selection.ids.length === 0 || selection.ids.includes(entry.id))
  );
}

/** Each session's dead letters that match; every id must name one, else nothing happens. */
function select(
  sessions: readonly DeadLetterQueueSession[],
  selection: QueuedSelection,
): { session: DeadLetterQueueSession; entries: QueuedDeadLetter[] }[] {
  const all = sessions.flatMap((s) => s.entries);
  for (const id of selection.ids ?? []) {
    if (!all.some((e) => e.id === id)) throw new DeadLetterNotFoundError(id);
  }
  return sessions.map((session) => ({
    session,
    entries: session.entries.filter((e) => matches(e, selection)),
  }));
}

/** `dlq list --transport amqp://…`. */
export async function listQueuedDeadLetters(
  ctx: CommandContext,
  broker: BrokerLocation,
  selection: QueuedSelection & { limit?: number },
): Promise<void> {
  await withQueues(ctx, broker, selection, async (sessions) => {
    const matching = select(sessions, selection).flatMap((s) => s.entries);
    const entries = matching.slice(0, selection.limit ?? 1000);
    for (const entry of entries) ctx.out.data(entry);
    if (ctx.out.json) return;
    if (entries.length === 0) {
      ctx.out.say('no dead letters');
      return;
    }
    const rows = [
      ['ID', 'QUEUE', 'TYPE', 'REASON', 'ATTEMPTS', 'LAST FAILURE', 'ERROR'],
      ...entries.map((e) => [
        e.id,
        e.queue,
        e.event?.type ?? '-',
        e.reason,
        String(e.attempts),
        e.lastFailedAt === '' ? '-' : e.lastFailedAt,
        e.error.code,
      ]),
    ];
    for (const line of formatTable(rows)) ctx.out.say(line);
    const total = matching.length;
    ctx.out.say(
      total > entries.length
        ? `first ${entries.length} of ${total} dead letters; --limit shows more`
        : `${total} ${plural(total, 'dead letter')}`,
    );
  });
}

/** `dlq show <id> --transport amqp://…`. */
export async function showQueuedDeadLetter(
  ctx: CommandContext,
  broker: BrokerLocation,
  selection: QueuedSelection,
  id: string,
): Promise<void> {
  await withQueues(ctx, broker, selection, async (sessions) => {
    const entry = sessions.flatMap((s) => s.entries).find((e) => e.id === id);
    if (!entry) throw new DeadLetterNotFoundError(id);
    ctx.out.result(formatQueuedDeadLetter(entry).join('\n'), entry);
  });
}

/** A `.dlq` dead letter as people read it: its fields, the error's stack, then the event. */
export function formatQueuedDeadLetter(entry: QueuedDeadLetter): string[] {
  const fields = formatTable([
    ['queue', entry.queue],
    ['handler', entry.handler === '' ? '-' : entry.handler],
    ['group', entry.group],
    ['origin', entry.origin],
    ['reason', entry.reason],
    ['attempts', String(entry.attempts)],
    ['first failure', entry.firstFailedAt === '' ? '-' : entry.firstFailedAt],
    ['last failure', entry.lastFailedAt === '' ? '-' : entry.lastFailedAt],
    ['dead-lettered', entry.deadLetteredAt === '' ? '-' : entry.deadLetteredAt],
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
    ...(entry.event === null
      ? ['  body (not a CloudEvent)', ...indent(entry.body ?? '')]
      : [`  event ${entry.event.id}`, ...indent(JSON.stringify(entry.event, null, 2))]),
  ];
}

/**
 * `dlq retry --transport amqp://…`: publish the selected dead letters to their work queue,
 * oldest first, and remove each from its `.dlq` once the broker has confirmed its copy. The
 * running consumers handle them. Exit 1 when any failed.
 */
export async function retryQueuedDeadLetters(
  ctx: CommandContext,
  broker: BrokerLocation,
  selection: QueuedSelection,
): Promise<number> {
  return withQueues(ctx, broker, selection, async (sessions) => {
    const result: RedriveResult = { redriven: [], failed: [], heldBack: [] };
    const chosen: QueuedDeadLetter[] = [];
    for (const { session, entries } of select(sessions, selection)) {
      chosen.push(...entries);
      for (const outcome of await session.redrive(entries)) {
        if (outcome.error) result.failed.push({ id: outcome.entry.id, ...outcome.error });
        else result.redriven.push(outcome.entry.id);
      }
      await session.release();
    }
    ctx.out.data(result);
    if (ctx.out.json) return result.failed.length > 0 ? ExitCode.failure : ExitCode.ok;
    if (chosen.length === 0) {
      ctx.out.say('no dead letters to retry');
      return ExitCode.ok;
    }
    const failed = new Map(result.failed.map((f) => [f.id, f]));
    const lines = formatTable(
      chosen.map((e) => [
        failed.has(e.id) ? 'failed' : 'redriven',
        e.id,
        e.queue,
        e.event?.type ?? '-',
      ]),
    );
    chosen.forEach((e, i) => {
      ctx.out.say(lines[i]!);
      const failure = failed.get(e.id);
      if (failure) ctx.out.say(`  ${failure.code}: ${failure.message}`);
    });
    ctx.out.say(
      `${result.redriven.length} redriven to their work queue, ${failed.size} failed` +
        (failed.size > 0 ? '; the failed stay dead letters' : ''),
    );
    return failed.size > 0 ? ExitCode.failure : ExitCode.ok;
  });
}

/** `dlq purge --transport amqp://…`: remove exactly the selected dead letters (every copy). */
export async function purgeQueuedDeadLetters(
  ctx: CommandContext,
  broker: BrokerLocation,
  selection: QueuedSelection,
  confirm: (question: string) => Promise<boolean>,
): Promise<number> {
  return withQueues(ctx, broker, selection, async (sessions) => {
    const selected = select(sessions, selection);
    const count = selected.reduce((n, s) => n + s.entries.length, 0);
    if (count === 0) {
      ctx.out.result('no dead letters match; nothing removed', { removed: 0 });
      return ExitCode.ok;
    }
    const what = `${count} ${plural(count, 'dead letter')}`;
    if (!(await confirm(`remove ${what} for good? [y/N] `))) {
      ctx.io.stderr.write('cancelled; nothing removed\n');
      return ExitCode.failure;
    }
    for (const { session, entries } of selected) {
      session.remove(session.copiesOf(new Set(entries.map((e) => e.id))));
      // The removals are the broker's once the session's channel has closed after them.
      await session.release();
    }
    ctx.out.result(`removed ${what}`, { removed: count });
    return ExitCode.ok;
  });
}
