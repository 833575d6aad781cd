import {
  ErrorCodes,
  createConsumer,
  type DeadLetter,
  type DeadLetterStore,
  type EventHandler,
  type Logger,
  type RedriveResult,
} from '@eventfabric/core';
import type { ResolvedConfig } from '../config.js';
import type { CommandContext } from '../context.js';
import {
  assertDeadLettersExist,
  withDeadLetters,
  type DeadLetterSelection,
} from '../dead-letters.js';
import { findHandler, requireHandlers } from '../handlers.js';
import { ExitCode } from '../output.js';
import { openLogTransport, processedEvents, type OpenedStore } from '../store.js';
import { formatTable } from '../table.js';

/** As many dead letters as one `Consumer.redrive` call takes. */
const REDRIVE_LIMIT = 100_000;

/**
 * `dlq retry`: re-drive the selected dead letters through the config file's handlers, in
 * this process, and report each one. Exit 1 when any failed.
 */
export async function retryDeadLetters(
  ctx: CommandContext,
  selection: DeadLetterSelection,
): Promise<number> {
  const config = ctx.config();
  const handlers = requireHandlers(config, 'dlq retry');
  if (selection.handler !== undefined) findHandler(handlers, selection.handler);
  return withDeadLetters(ctx, async (deadLetters, opened) => {
    const ids = [...new Set(selection.ids)];
    await assertDeadLettersExist(deadLetters, ids);
    const filter = {
      ids: ids.length > 0 ? ids : undefined,
      handler: selection.handler,
      type: selection.type,
    };
    const selected = await deadLetters.list({ ...filter, limit: REDRIVE_LIMIT });
    const configured = new Set(handlers.map((h) => h.name));
    const result: RedriveResult = selected.some((e) => configured.has(e.handler))
      ? await redrive(config, handlers, opened, deadLetters, filter)
      : { redriven: [], failed: [], heldBack: [] };
    // Consumer.redrive reports dead letters of handlers it does not have; say it in the
    // CLI's terms, naming the configured handlers, also when redrive did not run at all.
    const unconfigured = new Set(
      selected.filter((e) => !configured.has(e.handler)).map((e) => e.id),
    );
    result.failed = result.failed.filter((f) => !unconfigured.has(f.id));
    for (const entry of selected) {
      if (configured.has(entry.handler)) continue;
      result.failed.push({
        id: entry.id,
        code: ErrorCodes.INVALID_CONFIG,
        message: `handler "${entry.handler}" is not in the config (it has ${[...configured].join(', ')})`,
      });
    }
    result.failed.sort((a, b) => (a.id < b.id ? -1 : 1));
    report(ctx, selected, result);
    return result.failed.length > 0 ? ExitCode.failure : ExitCode.ok;
  });
}

/**
 * Run `Consumer.redrive` with durable records in the store: the processed-event record (so a
 * transactional handler's writes commit with it), and the store's log transport for
 * follow-up events a handler publishes (appended to the log, as in `consume`). What
 * `dlq retry` and the server's retry route run.
 */
export async function redrive(
  config: ResolvedConfig,
  handlers: readonly EventHandler[],
  opened: OpenedStore,
  deadLetters: DeadLetterStore,
  filter: { ids?: readonly string[]; handler?: string; type?: string },
  logger?: Logger,
): Promise<RedriveResult> {
  const transport = await openLogTransport(opened);
  const record = processedEvents(opened);
  try {
    const consumer = createConsumer({
      service: config.service,
      transport,
      handlers,
      deadLetters,
      processed: record.processed,
      schemas: opened.schemas,
      store: opened.store,
      ...(logger === undefined ? {} : { logger }),
    });
    return await consumer.redrive(filter);
  } finally {
    await transport.close();
    record.close();
  }
}

function report(ctx: CommandContext, selected: DeadLetter[], result: RedriveResult): void {
  ctx.out.data(result);
  if (ctx.out.json) return;
  const byId = new Map(selected.map((e) => [e.id, e]));
  const failed = new Map(result.failed.map((f) => [f.id, f]));
  const outcomes = [
    ...result.redriven.map((id) => ({ id, state: 'redriven' })),
    ...result.failed.map(({ id }) => ({ id, state: 'failed' })),
    ...result.heldBack.map((id) => ({ id, state: 'held back' })),
  ].sort((a, b) => (a.id < b.id ? -1 : 1));
  if (outcomes.length === 0) {
    ctx.out.say('no dead letters to retry');
    return;
  }
  const lines = formatTable(
    outcomes.map(({ id, state }) => {
      const entry = byId.get(id);
      return [state, id, entry?.handler ?? '', entry?.event.type ?? ''];
    }),
  );
  outcomes.forEach(({ id, state }, i) => {
    ctx.out.say(lines[i]!);
    const failure = failed.get(id);
    if (failure) ctx.out.say(`  ${failure.code}: ${failure.message}`);
    if (state === 'held back') {
      const key = byId.get(id)?.event.partitionkey;
      ctx.out.say(`  waits for an earlier dead letter of partition key ${key} that failed`);
    }
  });
  const { redriven, heldBack } = result;
  ctx.out.say(
    `${redriven.length} redriven, ${failed.size} failed, ${heldBack.length} held back` +
      (failed.size + heldBack.length > 0 ? '; the failed and held back stay dead letters' : ''),
  );
}
