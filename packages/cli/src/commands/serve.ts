import { isIP } from 'node:net';
import { InvalidArgumentError, type Command } from 'commander';
import {
  InvalidConfigError,
  type DeadLetterStore,
  type EventHandler,
  type RedriveResult,
} from '@eventfabric/core';
import { registerHorizonMetrics } from '@eventfabric/postgres';
import {
  DEFAULT_HOST,
  DEFAULT_PORT,
  FileApiKeyStore,
  createLogger,
  createServer,
  type Redrive,
  type ServerLogger,
} from '@eventfabric/server';
import type { ResolvedConfig } from '../config.js';
import type { ActionRunner } from '../context.js';
import { DEFAULT_KEYS_FILE, keysFilePath } from './keys.js';
import { deadLetterStore, describeStore, openStore, type OpenedStore } from '../store.js';
import { untilSignal } from '../until-signal.js';
import { redrive } from './dlq-retry.js';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

interface ServeCommandOptions {
  port: number;
  host: string;
  logLevel: (typeof LOG_LEVELS)[number];
  keysFile?: string;
}

export function registerServeCommand(program: Command, run: ActionRunner): void {
  program
    .command('serve')
    .summary('run the HTTP server')
    .description(
      'run the HTTP API over the store: publish CloudEvents (structured, batch, binary), ' +
        'append and read streams, query $all, follow it over SSE, manage schemas and dead ' +
        'letters; /healthz, /readyz and /metrics. Runs until SIGINT or SIGTERM, then shuts ' +
        'down gracefully',
    )
    .option('-p, --port <port>', `port to listen on; 0 picks a free one`, parsePort, DEFAULT_PORT)
    .option('--host <host>', 'address to bind (loopback only without API keys)', DEFAULT_HOST)
    .option(
      '--keys-file <file>',
      `API key file (default: EVENTFABRIC_KEYS_FILE or ${DEFAULT_KEYS_FILE})`,
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
POST /v1/dlq/retry runs the config file's handlers, when it has any.

Examples:
  $ eventfabric serve
  $ eventfabric serve --port 8080 --store postgres://app@127.0.0.1:5432/app
  $ curl -X POST localhost:4400/v1/events -H 'content-type: application/cloudevents+json' \\
      -d '{"specversion":"1.0","id":"1","type":"shop.order.placed.v1","source":"/shop","subject":"order-1","data":{}}'`,
    )
    .action(
      run(async (ctx, command) => {
        const options = command.opts<ServeCommandOptions>();
        const keys = new FileApiKeyStore(keysFilePath(options.keysFile));
        const secured = await keys.hasLiveKeys();
        if (!secured) assertLoopback(options.host);
        const config = ctx.config();
        const logger = createLogger({ level: options.logLevel, destination: 2 });
        const opened = await openStore(config, {
          loadSchemaFiles: true,
          allowForeignTypes: ctx.globals.allowForeignTypes,
        });
        const { finished, dispose } = untilSignal();
        try {
          const deadLetters = deadLetterStore(opened);
          const server = await createServer({
            store: opened.backend.store,
            schemas: opened.registry,
            deadLetters,
            redrive: redriveWith(config, opened, deadLetters, logger),
            keys: secured ? keys : undefined,
            logger,
          });
          if (opened.backend.kind === 'postgres') {
            registerHorizonMetrics(opened.backend.store, server.metrics.registry);
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
          ctx.out.result(
            [
              `EventFabric server listening on ${url} (store ${describeStore(config)})`,
              `  publish   POST ${url}/v1/events`,
              `  query     GET  ${url}/v1/events`,
              `  follow    GET  ${url}/v1/subscribe`,
              `  health    GET  ${url}/healthz  ${url}/readyz`,
              `  metrics   GET  ${url}/metrics`,
              'Ctrl-C stops it.',
            ].join('\n'),
            { url, store: describeStore(config) },
          );
          await finished;
          logger.info('shutting down: no new connections, draining requests in flight');
          await server.close();
        } finally {
          dispose();
          await opened.close();
        }
        logger.info('stopped');
        logger.flush();
      }),
    );
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
