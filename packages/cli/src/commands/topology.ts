import { InvalidConfigError } from '@eventfabric/core';
import { formatNatsTopology, inspectNatsTopology, planNatsTopology } from '@eventfabric/nats';
import type { EventHandler } from '@eventfabric/core';
import {
  createRabbitMqTransport,
  groupTopology,
  resolveRabbitMqOptions,
  type GroupTopology,
  type RabbitMqPriorityLevels,
} from '@eventfabric/rabbitmq';
import type { Command } from 'commander';
import { collect } from '../arguments.js';
import type { ActionRunner } from '../context.js';
import { findHandler, parseServiceName, requireHandlers } from '../handlers.js';
import { UsageError } from '../output.js';
import { redactUrl, requireBroker } from '../transport-url.js';

interface TopologyCommandOptions {
  transport?: string;
  service?: string;
  queueType?: 'quorum' | 'classic';
  declare?: boolean;
  priority?: string[];
  ordered?: string[];
  partitions?: string;
}

/**
 * `--priority <handler>=<level,level,…>[@default]` → the transport's `priorities`, keyed by
 * the handler's group. Levels and the default are checked by `resolveRabbitMqOptions`.
 */
function parsePriorities(
  values: readonly string[],
  service: string,
  handlers: readonly EventHandler[],
): Record<string, RabbitMqPriorityLevels> {
  const out: Record<string, RabbitMqPriorityLevels> = {};
  for (const value of values) {
    const match = /^([^=]+)=([^@]*)(?:@(.*))?$/.exec(value);
    if (match === null) {
      throw new UsageError(
        `--priority takes <handler>=<level,level,…>[@default], not "${value}"`,
        'eventfabric topology --help',
      );
    }
    const [, name, levels, fallback] = match as unknown as [string, string, string, string?];
    findHandler(handlers, name);
    out[`${service}.${name}`] = {
      levels: levels.split(','),
      ...(fallback === undefined ? {} : { default: fallback }),
    };
  }
  return out;
}

function describe(topology: GroupTopology): string {
  const lines = [`group ${topology.group}`];
  for (const exchange of topology.exchanges) lines.push(`  exchange ${exchange} (topic, durable)`);
  for (const queue of topology.queues) {
    const args = Object.entries(queue.arguments)
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join(' ');
    lines.push(`  queue ${queue.name} (${queue.role}${args === '' ? '' : `, ${args}`})`);
  }
  for (const b of topology.bindings) {
    lines.push(`  binding ${b.exchange} → ${b.queue} on ${b.bindingKey}`);
  }
  const routing = topology.priority;
  if (routing) {
    lines.push(
      `  exchange ${routing.exchange} (headers, durable, alternate ${routing.alternateExchange})`,
      `  exchange ${routing.alternateExchange} (fanout, durable)`,
    );
    for (const b of routing.exchangeBindings) {
      lines.push(`  binding ${b.source} → exchange ${b.destination} on ${b.bindingKey}`);
    }
    for (const level of routing.levels) {
      lines.push(
        `  binding ${routing.exchange} → ${topology.group}.${level} on cloudEvents:priority=${level}`,
      );
    }
    lines.push(
      `  binding ${routing.alternateExchange} → ${topology.group}.${routing.defaultLevel} (no or an unknown priority)`,
    );
  }
  const partitions = topology.partitions;
  if (partitions) {
    lines.push(
      `  exchange ${partitions.exchange} (headers, durable, alternate ${partitions.alternateExchange})`,
      `  exchange ${partitions.alternateExchange} (fanout, durable)`,
    );
    for (const b of partitions.exchangeBindings) {
      lines.push(`  binding ${b.source} → exchange ${b.destination} on ${b.bindingKey}`);
    }
    lines.push(
      `  binding ${partitions.exchange} → ${topology.group}.p<n> on eventfabric-partition=<n>, n = 0..${partitions.count - 1}`,
      `  binding ${partitions.alternateExchange} → ${topology.group}.p0 (no partition header)`,
    );
  }
  return lines.join('\n');
}

export function registerTopologyCommand(program: Command, run: ActionRunner): void {
  program
    .command('topology')
    .summary('print the transport topology')
    .description(
      'print the exchanges, queues and bindings the configured handlers declare on RabbitMQ ' +
        '(a queue per handler group, its retry queues and its .dlq); with --declare, declare ' +
        'them now (idempotent). On NATS: the streams and consumers the handlers would declare, ' +
        'and those declared on the server',
    )
    .option(
      '--transport <url>',
      'the broker: amqp://… (RabbitMQ) or nats://… (NATS JetStream) (env EVENTFABRIC_TRANSPORT)',
    )
    .option(
      '--service <name>',
      'the service the handlers run in (default: EVENTFABRIC_SERVICE, config file, or app)',
      parseServiceName,
    )
    .option('--queue-type <type>', 'quorum (default) or classic')
    .option('--declare', 'declare the topology on the broker, then print it')
    .option(
      '--priority <handler=levels>',
      'RabbitMQ: give a handler priority queues <service>.<handler>.<level>, levels highest ' +
        'first, e.g. mailer=high,normal,low@normal (@ names the default level; default: the ' +
        'last); repeatable',
      collect,
    )
    .option(
      '--ordered <handler>',
      "RabbitMQ: keep order per partition key across the handler's processes (single-active-" +
        'consumer queues <service>.<handler>.p<n>); repeatable',
      collect,
    )
    .option('--partitions <n>', 'partitions of ordered handlers (default 16)')
    .addHelpText(
      'after',
      `
With --json: {"transport":"…","declared":true|false,"groups":[{"group","exchanges","queues",
"bindings"}, …]}. A queue that exists with other arguments fails with TOPOLOGY_CONFLICT.

Examples:
  $ eventfabric topology --transport amqp://guest:guest@127.0.0.1:5672
  $ eventfabric topology --transport amqp://guest:guest@127.0.0.1:5672 --declare --json
  $ eventfabric topology --transport amqp://guest:guest@127.0.0.1:5672 --priority mailer=high,low
  $ eventfabric topology --transport nats://127.0.0.1:4222`,
    )
    .action(
      run(async (ctx, command) => {
        const options = command.opts<TopologyCommandOptions>();
        const { url } = requireBroker(options.transport, 'topology');
        if (url.startsWith('nats://')) {
          const config = ctx.config();
          const service = options.service ?? config.service;
          if (options.declare) {
            throw new InvalidConfigError(
              'topology --declare is for RabbitMQ: on NATS, streams and consumers are declared ' +
                'when a group subscribes (consume); this prints the plan and what the server has',
              { transport: url },
            );
          }
          const planned =
            config.handlers.length === 0
              ? undefined
              : planNatsTopology(
                  { servers: url },
                  {
                    groups: config.handlers.map((h) => ({
                      group: `${service}.${h.name}`,
                      topics: h.on,
                    })),
                  },
                );
          const onServer = await inspectNatsTopology({ servers: url });
          const text = [
            ...(planned
              ? ['would declare (when the groups subscribe):', formatNatsTopology(planned)]
              : []),
            'declared on the server:',
            onServer.streams.length === 0 ? '  nothing yet' : formatNatsTopology(onServer),
          ].join('\n');
          ctx.out.result(text, { transport: url, planned: planned ?? null, declared: onServer });
          return;
        }
        const config = ctx.config();
        const service = options.service ?? config.service;
        const handlers = requireHandlers(config, 'topology');
        const resolved = resolveRabbitMqOptions({
          url,
          ...(options.queueType === undefined ? {} : { queueType: options.queueType }),
          priorities: parsePriorities(options.priority ?? [], service, handlers),
          orderedGroups: (options.ordered ?? []).map(
            (name) => `${service}.${findHandler(handlers, name).name}`,
          ),
          ...(options.partitions === undefined ? {} : { partitions: Number(options.partitions) }),
        });
        const groups = handlers.map((handler) =>
          groupTopology(
            `${service}.${handler.name}`,
            handler.on,
            resolved.queueType,
            resolved.retryDelaysMs,
            resolved.priorities[`${service}.${handler.name}`],
            resolved.orderedGroups.has(`${service}.${handler.name}`)
              ? { partitions: resolved.partitions }
              : undefined,
          ),
        );
        if (options.declare) {
          const transport = await createRabbitMqTransport({
            url,
            queueType: resolved.queueType,
            priorities: resolved.priorities,
            orderedGroups: [...resolved.orderedGroups],
            partitions: resolved.partitions,
          });
          try {
            for (const topology of groups) await transport.declare(topology);
          } finally {
            await transport.close();
          }
        }
        const heading = options.declare ? 'declared' : 'would declare (run with --declare)';
        ctx.out.result(`${heading}:\n${groups.map(describe).join('\n')}`, {
          transport: redactUrl(url),
          declared: options.declare === true,
          groups,
        });
      }),
    );
}
