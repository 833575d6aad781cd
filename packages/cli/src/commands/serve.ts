import { isIP } from 'node:net';
import { InvalidArgumentError, type Command } from 'commander';
import {
  InvalidConfigError,
  compileTopicPattern,
  createRelay,
  type DeadLetterStore,
  type EventHandler,
  type Relay,
  type RedriveResult,
} from '@eventfabric/core';
import { registerHorizonMetrics } from '@eventfabric/postgres';
import {
  IncomingWebhooks,
  startWebhookEngine,
  WebhookMetrics,
  WebhookService,
  type WebhookEngine,
} from '@eventfabric/webhooks';
import {
  DEFAULT_HOST,
  DEFAULT_PORT,
  FileApiKeyStore,
  createLogger,
  createServer,
  type Redrive,
  type ServerLogger,
} from '@eventfabric/server';
import { collect } from '../arguments.js';
import { openBroker, relayCheckpointsOf, type OpenedBroker } from '../broker.js';
import type { ResolvedConfig } from '../config.js';
import type { ActionRunner } from '../context.js';
import { DEFAULT_KEYS_FILE, keysFilePath } from './keys.js';
import {
  deadLetterStore,
  describeStore,
  openLogTransport,
  openStore,
  processedEvents,
  type OpenedStore,
} from '../store.js';
import { TRANSPORT_ENV, resolveBroker, type BrokerLocation } from '../transport-url.js';
import { untilSignal } from '../until-signal.js';
import { redrive } from './dlq-retry.js';
import { projectionStorageOf } from './projections.js';
import { allowlist, webhookStore, WEBHOOKS_ALLOW_ENV } from './webhooks.js';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

interface ServeCommandOptions {
  port: number;
  host: string;
  logLevel: (typeof LOG_LEVELS)[number];
  keysFile?: string;
  transport?: string;
  forward?: string[];
  webhookAllow?: string[];
  webhookDelivery: boolean;
}

export function registerServeCommand(program: Command, run: ActionRunner): void {
  program
    .command('serve')
    .summary('run the HTTP server')
    .description(
      'run the HTTP API over the store: publish CloudEvents (structured, batch, binary), ' +
        'append and read streams, query $all, follow it over SSE, manage schemas and dead ' +
        "letters, replay handlers and rebuild projections (the config file's), manage outgoing " +
        "webhooks and deliver them, receive the config file's incoming webhook sources; " +
        '/healthz, /readyz and /metrics. With --transport it also relays the log to RabbitMQ ' +
        'or NATS. ' +
        'Runs until SIGINT or SIGTERM, then shuts down gracefully',
    )
    .option('-p, --port <port>', `port to listen on; 0 picks a free one`, parsePort, DEFAULT_PORT)
    .option('--host <host>', 'address to bind (loopback only without API keys)', DEFAULT_HOST)
    .option(
      '--keys-file <file>',
      `API key file (default: EVENTFABRIC_KEYS_FILE or ${DEFAULT_KEYS_FILE})`,
    )
    .option(
      '--transport <url>',
      `broker to relay the store's log to: amqp://user:password@host:port/vhost (RabbitMQ) or ` +
        `nats://host:port (NATS JetStream); default ${TRANSPORT_ENV}, or embedded (none)`,
    )
    .option(
      '--forward <pattern>',
      'with --transport: relay only these types (a type or a pattern such as shop.*; ' +
        'repeatable; default every event)',
      parseForwardPattern,
    )
    .option(
      '--webhook-allow <cidr>',
      'a private address range outgoing webhooks may reach (repeatable; default ' +
        `${WEBHOOKS_ALLOW_ENV}, comma-separated)`,
      collect,
    )
    .option(
      '--no-webhook-delivery',
      'serve /v1/webhooks but deliver nothing here (an `eventfabric webhooks run` process does)',
    )
    .option(
      '--log-level <level>',
      `JSON log level on stderr: ${LOG_LEVELS.join(', ')}`,
      parseLogLevel,
      'info',
    )
    .addHelpText(
      'after',
      `
Once the key file holds a live key (eventfabric keys create), every /v1 request needs
Authorization: Bearer <key> and acts as the key's tenant. With no API keys the server is open
to anyone who can reach it, so it binds a loopback address only (127.0.0.1, ::1 or
localhost) and says so in its log.
On SIGTERM or SIGINT it stops accepting connections, ends SSE streams, finishes requests in
flight, closes the store and exits 0. Logs are JSON lines (pino) on stderr, with trace ids.
POST /v1/dlq/retry and POST /v1/replays run the config file's handlers, and
/v1/projections its projections, when it has any.

The store is the log: publishing appends to it. With --transport, serve also runs the outbox
relay, which forwards the log to the broker in position order with a durable checkpoint in
the store (relay "serve-amqp" or "serve-nats"), so a restart resumes where it stopped;
/readyz then checks the broker too. RabbitMQ refuses an event that no queue is bound to
(UNROUTABLE_EVENT): the relay retries it and waits, so bind the queues first (eventfabric
topology --declare, or consume) or narrow what it forwards with --forward.

Examples:
  $ eventfabric serve
  $ eventfabric serve --port 8080 --store postgres://app@127.0.0.1:5432/app
  $ eventfabric serve --store postgres://app@db/app --transport amqp://guest:guest@rabbit:5672
  $ curl -X POST localhost:4400/v1/events -H 'content-type: application/cloudevents+json' \\
      -d '{"specversion":"1.0","id":"1","type":"shop.order.placed.v1","source":"/shop","subject":"order-1","data":{}}'`,
    )
    .action(
      run(async (ctx, command) => {
        const options = command.opts<ServeCommandOptions>();
        const broker = brokerOf(options.transport);
        if (broker === undefined && options.forward !== undefined) {
          throw new InvalidConfigError(
            '--forward needs --transport: there is no broker to relay to',
            {
              forward: options.forward,
            },
          );
        }
        const keys = new FileApiKeyStore(keysFilePath(options.keysFile));
        const secured = await keys.hasLiveKeys();
        if (!secured) assertLoopback(options.host);
        const config = ctx.config();
        const logger = createLogger({ level: options.logLevel, destination: 2 });
        const opened = await openStore(config, {
          loadSchemaFiles: true,
          allowForeignTypes: ctx.globals.allowForeignTypes,
        });
        const record = processedEvents(opened);
        const { finished, dispose } = untilSignal();
        let connected: OpenedBroker | undefined;
        let relay: Relay | undefined;
        let engine: { engine: WebhookEngine; close: () => Promise<void> } | undefined;
        try {
          connected =
            broker === undefined
              ? undefined
              : await openBroker(broker, logger.child({ transport: broker.kind }));
          const deadLetters = deadLetterStore(opened);
          const webhooks = webhookStore(opened);
          const allow = allowlist({ allow: options.webhookAllow });
          const hooks =
            Object.keys(config.hooks).length === 0
              ? undefined
              : new IncomingWebhooks({ sources: { ...config.hooks }, store: opened.backend.store });
          const server = await createServer({
            store: opened.backend.store,
            schemas: opened.registry,
            deadLetters,
            redrive: redriveWith(config, opened, deadLetters, logger),
            replays:
              config.handlers.length === 0
                ? undefined
                : {
                    handlers: config.handlers,
                    processed: record.processed,
                    service: config.service,
                    schemas: opened.schemas,
                  },
            projections:
              config.projections.length === 0
                ? undefined
                : { projections: config.projections, storage: projectionStorageOf(opened.backend) },
            transport: connected?.health,
            webhooks: new WebhookService({ store: webhooks, allow }),
            hooks,
            keys: secured ? keys : undefined,
            logger,
          });
          if (opened.backend.kind === 'postgres') {
            registerHorizonMetrics(opened.backend.store, server.metrics.registry);
          }
          if (connected !== undefined && broker !== undefined) {
            const transport = connected.transport;
            relay = await createRelay({
              name: `serve-${broker.kind}`,
              store: opened.store,
              checkpoints: relayCheckpointsOf(opened.backend),
              forward: (events) => transport.publish(events),
              topics: options.forward,
              logger: logger.child({ component: 'relay' }),
              metrics: server.metrics.registry,
            });
          }
          if (options.webhookDelivery) {
            // Subscriptions fan out from the log into durable deliveries, sent on their schedule.
            const transport = await openLogTransport(opened);
            try {
              engine = {
                engine: await startWebhookEngine({
                  store: webhooks,
                  transport,
                  deadLetters,
                  allow,
                  metrics: new WebhookMetrics(server.metrics.registry, webhooks),
                  logger: logger.child({ component: 'webhooks' }),
                }),
                close: () => transport.close(),
              };
            } catch (error) {
              await transport.close();
              throw error;
            }
          }
          const url = await listen(server.listen.bind(server), options);
          if (secured) {
            logger.info({ url, keysFile: keys.path }, 'API keys required on /v1');
          } else {
            logger.warn(
              { url, store: describeStore(config), keysFile: keys.path },
              'no API keys configured: the server is open, and bound to loopback only',
            );
          }
          if (broker !== undefined) {
            logger.info(
              { transport: broker.redacted, relay: relay?.name, forward: options.forward ?? ['*'] },
              "relaying the store's log to the broker",
            );
          }
          ctx.out.result(
            [
              `EventFabric server listening on ${url} (store ${describeStore(config)})`,
              ...(broker === undefined
                ? []
                : [`  relaying the log to ${broker.redacted} (relay ${relay?.name ?? '-'})`]),
              `  publish   POST ${url}/v1/events`,
              `  query     GET  ${url}/v1/events`,
              `  follow    GET  ${url}/v1/subscribe`,
              `  webhooks       ${url}/v1/webhooks${options.webhookDelivery ? '' : ' (delivered elsewhere)'}`,
              ...(hooks === undefined
                ? []
                : [`  incoming  POST ${url}/v1/hooks/{${Object.keys(config.hooks).join(',')}}`]),
              `  health    GET  ${url}/healthz  ${url}/readyz`,
              `  metrics   GET  ${url}/metrics`,
              'Ctrl-C stops it.',
            ].join('\n'),
            {
              url,
              store: describeStore(config),
              transport: broker?.redacted ?? 'embedded',
            },
          );
          await finished;
          logger.info('shutting down: no new connections, draining requests in flight');
          await server.close();
          // After the server: what was published before it closed is forwarded before exit.
          if (relay !== undefined) {
            await relay.stop();
            logger.info({ forwarded: relay.forwarded, position: relay.position }, 'relay stopped');
          }
        } finally {
          dispose();
          await engine?.engine.stop();
          await engine?.close();
          await relay?.stop();
          await connected?.close();
          record.close();
          await opened.close();
        }
        logger.info('stopped');
        logger.flush();
      }),
    );
}

/** `--transport` or EVENTFABRIC_TRANSPORT; `embedded` (the default) names no broker. */
function brokerOf(flag: string | undefined): BrokerLocation | undefined {
  const given = flag ?? process.env[TRANSPORT_ENV];
  if (given === undefined || given === '' || given === 'embedded') return undefined;
  return resolveBroker(given, 'serve');
}

function parseForwardPattern(value: string, previous: string[] | undefined): string[] {
  try {
    compileTopicPattern(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
  return collect(value, previous);
}

/** `POST /v1/dlq/retry`: the config file's handlers, when it has any. */
function redriveWith(
  config: ResolvedConfig,
  opened: OpenedStore,
  deadLetters: DeadLetterStore,
  logger: ServerLogger,
): Redrive | undefined {
  const handlers: readonly EventHandler[] = config.handlers;
  if (handlers.length === 0) return undefined;
  return (filter): Promise<RedriveResult> =>
    redrive(config, handlers, opened, deadLetters, filter, logger);
}

async function listen(
  listenOn: (options: { port: number; host: string }) => Promise<string>,
  options: ServeCommandOptions,
): Promise<string> {
  try {
    return await listenOn({ port: options.port, host: options.host });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
      throw new InvalidConfigError(
        `cannot listen on ${options.host}:${options.port}: ${code}`,
        { host: options.host, port: options.port, reason: code },
        { cause: error },
      );
    }
    throw error;
  }
}

/** Without API keys the server is open: it may only be reachable from this machine. */
function assertLoopback(host: string): void {
  const loopback =
    host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
  if (loopback) return;
  throw new InvalidConfigError(
    `--host ${host} is not a loopback address: with no API keys configured the server is ` +
      'open, so it binds 127.0.0.1, ::1 or localhost only',
    { host },
  );
}

function parsePort(value: string): number {
  if (/^(0|[1-9][0-9]{0,4})$/.test(value) && Number(value) <= 65535) return Number(value);
  throw new InvalidArgumentError('expected a port from 0 to 65535');
}

function parseLogLevel(value: string): ServeCommandOptions['logLevel'] {
  if ((LOG_LEVELS as readonly string[]).includes(value)) {
    return value as ServeCommandOptions['logLevel'];
  }
  throw new InvalidArgumentError(`expected one of ${LOG_LEVELS.join(', ')}`);
}
