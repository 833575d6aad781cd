import type { Command } from 'commander';
import { InvalidArgumentError as CommanderInvalidArgumentError } from 'commander';
import { createConsumer, type EventHandler } from '@eventfabric/core';
import { collect } from '../arguments.js';
import type { ActionRunner } from '../context.js';
import { findHandler, parseServiceName, requireHandlers } from '../handlers.js';
import { deadLetterStore, openLogTransport, openStore, processedEvents } from '../store.js';
import { untilSignal } from '../until-signal.js';

interface ConsumeCommandOptions {
  handler?: string[];
  concurrency?: number;
  drainMs?: number;
}

export function registerConsumeCommand(program: Command, run: ActionRunner): void {
  program
    .command('consume')
    .summary("run the config file's handlers on the store's log")
    .description(
      "run the config file's handlers against the store's log until SIGINT or SIGTERM: each " +
        'handler is the consumer group <service>.<handler>, with retries, dead letters in the ' +
        'store and its processed-event record; several processes may consume one group. On ' +
        'SQLite the embedded transport follows the log; on PostgreSQL a relay per group (one ' +
        "process at a time, by lease) feeds the group's queue (FOR UPDATE SKIP LOCKED) from the log",
    )
    .option('--handler <name>', 'run only this handler (repeatable; default: all)', collect)
    .option(
      '--concurrency <n>',
      'handlings at once per handler, across partition keys',
      positive,
      1,
    )
    .option(
      '--drain-ms <ms>',
      'on shutdown, how long in-flight handlings may finish',
      positive,
      10_000,
    )
    .option(
      '--service <name>',
      'the service the handlers run in (default: EVENTFABRIC_SERVICE, config file, or app)',
      parseServiceName,
    )
    .addHelpText(
      'after',
      `
Examples:
  $ eventfabric consume
  $ eventfabric consume --handler balances --concurrency 4`,
    )
    .action(
      run(async (ctx, command) => {
        const options = command.opts<ConsumeCommandOptions>();
        const config = ctx.config();
        const all = requireHandlers(config, 'consume');
        const handlers: readonly EventHandler[] =
          options.handler === undefined
            ? all
            : options.handler.map((name) => findHandler(all, name));
        const opened = await openStore(config);
        const transport = await openLogTransport(opened);
        const record = processedEvents(opened);
        const consumer = createConsumer({
          service: config.service,
          transport,
          handlers,
          store: opened.store,
          schemas: opened.schemas,
          deadLetters: deadLetterStore(opened),
          processed: record.processed,
          concurrency: options.concurrency,
        });
        const signal = untilSignal();
        try {
          await consumer.start();
          ctx.out.say(`consuming as ${consumer.groups.join(', ')}; SIGINT or SIGTERM stops`);
          await signal.finished;
          await consumer.stop({ deadlineMs: options.drainMs });
          ctx.out.say('stopped: in-flight handlings drained');
        } finally {
          signal.dispose();
          await transport.close();
          record.close();
          await opened.close();
        }
      }),
    );
}

function positive(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n <= 0) {
    throw new CommanderInvalidArgumentError('expected a positive integer');
  }
  return n;
}
