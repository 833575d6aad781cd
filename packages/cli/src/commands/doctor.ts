import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { EventFabricError, InvalidConfigError, StoreUnavailableError } from '@eventfabric/core';
import { createPostgresQueueTransport, type HorizonBlocker } from '@eventfabric/postgres';
import { parseNonNegativeInteger } from '../arguments.js';
import { openBroker } from '../broker.js';
import { parseStoreUrl, redactUrl } from '../config.js';
import type { ActionRunner, CommandContext } from '../context.js';
import { migrationState } from '../migrations.js';
import { ExitCode, INTERNAL_ERROR_CODE } from '../output.js';
import { connectStore, deadLetterStore, describeStore, type StoreBackend } from '../store.js';
import { formatTable } from '../table.js';
import { TRANSPORT_ENV, resolveBroker, type BrokerLocation } from '../transport-url.js';

export { TRANSPORT_ENV };
/** A horizon blocker older than this fails `doctor` unless `--max-hold-ms` says otherwise. */
export const DEFAULT_MAX_HOLD_MS = 60_000;
/** How much of a blocking session's query `doctor` prints. */
const QUERY_CHARS = 200;

interface DoctorCommandOptions {
  transport?: string;
  maxHoldMs: number;
}

/** How one check went. `warn` is reported but does not fail the run. */
export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skipped';

/** One line of the report; `--json` prints them all as `{"ok", "checks": [...]}`. */
export interface DoctorCheck {
  check: 'store' | 'migrations' | 'head' | 'dead-letters' | 'horizon' | 'transport';
  status: CheckStatus;
  message: string;
  /** The error code of a failed check. */
  code?: string;
  [detail: string]: unknown;
}

type TransportLocation =
  | { kind: 'embedded' }
  | { kind: 'postgres'; url: string; connectionString: string; schema: string }
  | { kind: 'broker'; broker: BrokerLocation };

export function registerDoctorCommand(program: Command, run: ActionRunner): void {
  program
    .command('doctor')
    .summary('diagnose the store, the transport and their health')
    .description(
      'check that the store answers, its migrations, head position and dead-letter depth, ' +
        'and on PostgreSQL the $all horizon: each session whose open transaction holds ' +
        'readers back, with its pid, how long it has held and its query',
    )
    .option(
      '--transport <url>',
      'transport to check: embedded, postgres://…, amqp://user:password@host:port/vhost ' +
        `(RabbitMQ) or nats://host:port (NATS JetStream) (default: ${TRANSPORT_ENV}, or embedded)`,
    )
    .option(
      '--max-hold-ms <ms>',
      'fail when a session has held the horizon longer than this',
      parseNonNegativeInteger,
      DEFAULT_MAX_HOLD_MS,
    )
    .addHelpText(
      'after',
      `
Exit 1 when the store is unreachable, a check fails, or a horizon blocker has held longer
than --max-hold-ms; pending migrations are a warning (run eventfabric migrate). A broker
transport passes when it accepts a connection (NATS: and JetStream answers a round trip).
With --json:
{"ok":true|false,"checks":[{"check","status","message",…}]}, status ok, warn, fail or skipped.
Doctor applies no migration, creates no store and writes nothing.

Examples:
  $ eventfabric doctor
  $ eventfabric doctor --store postgres://app@db:5432/events --max-hold-ms 5000 --json
  $ eventfabric doctor --transport amqp://guest:guest@127.0.0.1:5672`,
    )
    .action(run((ctx, command) => runDoctor(ctx, command.opts<DoctorCommandOptions>())));
}

async function runDoctor(ctx: CommandContext, options: DoctorCommandOptions): Promise<number> {
  const config = ctx.config();
  const transport = parseTransportUrl(options.transport ?? process.env[TRANSPORT_ENV]);
  const where = describeStore(config);
  const checks: DoctorCheck[] = [];

  let backend: StoreBackend | undefined;
  try {
    const location = config.store;
    // Opening a SQLite store creates its file: doctor only looks.
    if (location.kind === 'sqlite' && location.path !== ':memory:' && !existsSync(location.path)) {
      throw new StoreUnavailableError(
        'the store file does not exist: run eventfabric init or eventfabric migrate',
        { path: location.path },
      );
    }
    backend = await connectStore(config, { migrate: false });
    checks.push({ check: 'store', status: 'ok', message: `${where} answers`, kind: backend.kind });
  } catch (error) {
    checks.push(failed('store', `${where}: ${(error as Error).message}`, error));
  }
  if (backend === undefined) {
    for (const check of ['migrations', 'head', 'dead-letters', 'horizon'] as const) {
      checks.push({ check, status: 'skipped', message: 'the store is unreachable' });
    }
  } else {
    try {
      await storeChecks(backend, options.maxHoldMs, checks);
    } finally {
      await backend.store.close();
    }
  }
  checks.push(await transportCheck(transport, config.store));

  const ok = checks.every((c) => c.status !== 'fail');
  ctx.out.data({ ok, checks });
  if (!ctx.out.json) {
    const lines = formatTable(checks.map((c) => [c.check, c.status.toUpperCase(), c.message]));
    checks.forEach((c, i) => {
      ctx.out.say(lines[i]!);
      for (const blocker of (c.blockedBy as ReportedBlocker[] | undefined) ?? []) {
        ctx.out.say(`  pid ${blocker.pid}: ${blocker.query}`);
      }
    });
    ctx.out.say(ok ? 'healthy' : 'unhealthy: see the failed checks above');
  }
  return ok ? ExitCode.ok : ExitCode.failure;
}

interface ReportedBlocker {
  pid: number;
  heldMs: number;
  since: string | null;
  heldAt: string;
  query: string;
}

async function storeChecks(
  backend: StoreBackend,
  maxHoldMs: number,
  checks: DoctorCheck[],
): Promise<void> {
  let migrated = false;
  try {
    const { applied, pending } = await migrationState(backend);
    migrated = applied.length > 0;
    const versions = applied.map((m) => m.version);
    checks.push(
      pending.length === 0
        ? {
            check: 'migrations',
            status: 'ok',
            message: `${applied.length} applied (latest ${versions[versions.length - 1] ?? 0})`,
            applied: versions,
            pending: [],
          }
        : {
            check: 'migrations',
            status: 'warn',
            message:
              `${pending.length} pending (${pending.map((m) => m.version).join(', ')}): ` +
              'run eventfabric migrate',
            applied: versions,
            pending: pending.map((m) => m.version),
          },
    );
  } catch (error) {
    checks.push(failed('migrations', (error as Error).message, error));
  }
  if (!migrated) {
    for (const check of ['head', 'dead-letters', 'horizon'] as const) {
      checks.push({ check, status: 'skipped', message: 'the store is not migrated' });
    }
    return;
  }

  try {
    const head = await backend.store.headPosition();
    checks.push({ check: 'head', status: 'ok', message: `position ${head}`, position: head });
  } catch (error) {
    checks.push(failed('head', (error as Error).message, error));
  }

  try {
    const depth = await deadLetterStore({ backend }).count();
    checks.push({
      check: 'dead-letters',
      status: depth === 0 ? 'ok' : 'warn',
      message: depth === 0 ? 'none' : `${depth} waiting: eventfabric dlq list`,
      depth,
    });
  } catch (error) {
    checks.push(failed('dead-letters', (error as Error).message, error));
  }

  if (backend.kind === 'sqlite') {
    checks.push({
      check: 'horizon',
      status: 'skipped',
      message: 'SQLite commits in order: no horizon to hold',
    });
    return;
  }
  try {
    const { blockedBy } = await backend.store.horizon();
    const reported = blockedBy.map(report);
    const stuck = blockedBy.filter((b) => b.ageMs > maxHoldMs);
    const status: CheckStatus = stuck.length > 0 ? 'fail' : blockedBy.length > 0 ? 'warn' : 'ok';
    const message =
      blockedBy.length === 0
        ? 'clear: readers see every committed event'
        : reported
            .map((b) => `held by pid ${b.pid} for ${b.heldMs} ms at position ${b.heldAt}`)
            .join('; ') + (stuck.length > 0 ? ` (longer than --max-hold-ms ${maxHoldMs})` : '');
    checks.push({ check: 'horizon', status, message, maxHoldMs, blockedBy: reported });
  } catch (error) {
    checks.push(failed('horizon', (error as Error).message, error));
  }
}

function report(blocker: HorizonBlocker): ReportedBlocker {
  const query = blocker.query.replace(/\s+/g, ' ').trim();
  return {
    pid: blocker.pid,
    heldMs: blocker.ageMs,
    since: blocker.xactStart === null ? null : blocker.xactStart.toISOString(),
    heldAt: blocker.heldAt,
    query: query.length > QUERY_CHARS ? `${query.slice(0, QUERY_CHARS)}…` : query,
  };
}

async function transportCheck(
  transport: TransportLocation,
  store: { kind: string },
): Promise<DoctorCheck> {
  if (transport.kind === 'embedded') {
    return {
      check: 'transport',
      status: 'ok',
      message:
        store.kind === 'sqlite'
          ? "embedded: follows the store's log"
          : 'embedded (use --transport postgres://… to check the queue transport)',
      kind: 'embedded',
    };
  }
  if (transport.kind === 'broker') return brokerCheck(transport.broker);
  const shown = redactUrl(transport.url);
  try {
    const queue = await createPostgresQueueTransport({
      connectionString: transport.connectionString,
      schema: transport.schema,
      migrate: false,
      poolSize: 1,
    });
    try {
      await queue.pool.query('SELECT 1');
    } finally {
      await queue.close();
    }
    return { check: 'transport', status: 'ok', message: `${shown} answers`, kind: 'postgres' };
  } catch (error) {
    return failed('transport', `${shown}: ${(error as Error).message}`, error);
  }
}

/** Connect to the broker, ask it whether it is ready, and disconnect. */
async function brokerCheck(broker: BrokerLocation): Promise<DoctorCheck> {
  const name = broker.kind === 'amqp' ? 'RabbitMQ' : 'NATS JetStream';
  try {
    const opened = await openBroker(broker);
    try {
      const details = await opened.health.ready();
      return {
        check: 'transport',
        status: 'ok',
        message: `${name} at ${broker.redacted} answers`,
        kind: broker.kind,
        ...details,
      };
    } finally {
      await opened.close();
    }
  } catch (error) {
    return failed('transport', `${name} at ${broker.redacted}: ${(error as Error).message}`, error);
  }
}

/**
 * `--transport` / EVENTFABRIC_TRANSPORT: `embedded`, `postgres://…`, `amqp(s)://…` or
 * `nats://…`, checked before any I/O.
 * @throws InvalidConfigError for anything else
 */
export function parseTransportUrl(url: string | undefined): TransportLocation {
  if (url === undefined || url === '' || url === 'embedded') return { kind: 'embedded' };
  if (/^postgres(ql)?:\/\//i.test(url)) {
    // The same form as a PostgreSQL store URL, `?schema=` included.
    const location = parseStoreUrl(url);
    if (location.kind === 'postgres') {
      const { connectionString, schema } = location;
      return { kind: 'postgres', url, connectionString, schema };
    }
  }
  if (/^(amqps?|nats):\/\//.test(url))
    return { kind: 'broker', broker: resolveBroker(url, 'doctor')! };
  const shown = redactUrl(url);
  throw new InvalidConfigError(
    `unknown transport URL "${shown}"; expected embedded, postgres://…, amqp://… or nats://…`,
    { transport: shown },
  );
}

function failed(check: DoctorCheck['check'], message: string, error: unknown): DoctorCheck {
  return {
    check,
    status: 'fail',
    message,
    code: error instanceof EventFabricError ? error.code : INTERNAL_ERROR_CODE,
  };
}
