import type { Command } from 'commander';
import { InvalidArgumentError as CommanderInvalidArgumentError } from 'commander';
import { createConsumer, type DeadLetterStore, type EventHandler } from '@eventfabric/core';
import { createRabbitMqDeadLetterStore, type RabbitMqTransport } from '@eventfabric/rabbitmq';
import { collect } from '../arguments.js';
import { openBroker } from '../broker.js';
import type { ActionRunner } from '../context.js';
import { findHandler, parseServiceName, requireHandlers } from '../handlers.js';
import { deadLetterStore, openLogTransport, openStore, processedEvents } from '../store.js';
import { TRANSPORT_ENV, resolveBroker } from '../transport-url.js';
import { untilSignal } from '../until-signal.js';

interface ConsumeCommandOptions {
  handler?: string[];
  concurrency?: number;
  drainMs?: number;
  transport?: string;
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
        "process at a time, by lease) feeds the group's queue (FOR UPDATE SKIP LOCKED) from the log. " +
        'With --transport the handlers consume from RabbitMQ or NATS instead (what a relay ' +
        'such as serve --transport forwards there), keeping their processed-event record in the store',
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
      '--transport <url>',
      'consume from a broker: amqp://user:password@host:port/vhost (RabbitMQ; dead letters go ' +
        `to each group's .dlq) or nats://host:port (NATS JetStream; dead letters in the store); ` +
        `default ${TRANSPORT_ENV}, or the store's log`,
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
  $ eventfabric consume --handler balances --concurrency 4
  $ eventfabric consume --store postgres://app@db/app --transport amqp://guest:guest@rabbit:5672`,
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
        const broker = resolveBroker(options.transport, 'consume');
        const opened = await openStore(config);
        const signal = untilSignal();
        let close: () => Promise<void> = async () => undefined;
        const record = processedEvents(opened);
        try {
          let transport;
          let deadLetters: DeadLetterStore = deadLetterStore(opened);
          if (broker === undefined) {
            transport = await openLogTransport(opened);
          } else {
            const connected = await openBroker(broker);
            transport = connected.transport;
            if (broker.kind === 'amqp') {
              deadLetters = createRabbitMqDeadLetterStore({
                transport: transport as RabbitMqTransport,
              });
            }
          }
          const opens = transport;
          close = () => opens.close();
          const consumer = createConsumer({
            service: config.service,
            transport,
            handlers,
            store: opened.store,
            schemas: opened.schemas,
            deadLetters,
            processed: record.processed,
            concurrency: options.concurrency,
          });
          await consumer.start();
          ctx.out.say(`consuming as ${consumer.groups.join(', ')}; SIGINT or SIGTERM stops`);
          await signal.finished;
          await consumer.stop({ deadlineMs: options.drainMs });
          ctx.out.say('stopped: in-flight handlings drained');
        } finally {
          signal.dispose();
          await close();
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
