import { Option, type Command } from 'commander';
import { InvalidArgumentError } from '@eventfabric/core';
import {
  WebhookService,
  createPostgresWebhookStore,
  createSqliteWebhookStore,
  startWebhookEngine,
  type DeliveryStatus,
  type SubscriptionView,
  type WebhookDelivery,
  type WebhookStore,
} from '@eventfabric/webhooks';
import { collect, parsePositiveInteger } from '../arguments.js';
import type { ActionRunner, CommandContext } from '../context.js';
import { deadLetterStore, openLogTransport, openStore, type OpenedStore } from '../store.js';
import { formatTable } from '../table.js';
import { untilSignal } from '../until-signal.js';

/** Environment variable with the SSRF allowlist (comma-separated CIDR ranges). */
export const WEBHOOKS_ALLOW_ENV = 'EVENTFABRIC_WEBHOOKS_ALLOW';

interface ServiceOptions {
  allow?: string[];
}

/** The allowlist: `--allow` values, else the environment's. */
export function allowlist(options: ServiceOptions): string[] {
  if (options.allow !== undefined && options.allow.length > 0) return options.allow;
  const env = process.env[WEBHOOKS_ALLOW_ENV];
  return env === undefined || env.trim() === '' ? [] : env.split(',').map((s) => s.trim());
}

/** The webhook store in the configured store's file or schema. */
export function webhookStore(opened: OpenedStore): WebhookStore {
  const { backend } = opened;
  return backend.kind === 'sqlite'
    ? createSqliteWebhookStore(backend.store)
    : createPostgresWebhookStore(backend.store);
}

async function withService<T>(
  ctx: CommandContext,
  options: ServiceOptions,
  work: (service: WebhookService, opened: OpenedStore) => Promise<T>,
): Promise<T> {
  const opened = await openStore(ctx.config());
  try {
    const service = new WebhookService({
      store: webhookStore(opened),
      events: opened.store,
      allow: allowlist(options),
    });
    return await work(service, opened);
  } finally {
    await opened.close();
  }
}

const allowOption = () =>
  new Option(
    '--allow <cidr>',
    `a private address range webhooks may reach (repeatable; env ${WEBHOOKS_ALLOW_ENV}, comma-separated)`,
  ).argParser(collect);

function describe(s: SubscriptionView): string {
  const state = s.enabled ? 'enabled' : `disabled (${s.disabledReason ?? 'manual'})`;
  return `${s.id} ${s.url} [${s.types.join(' ')}] ${state}${s.ordered ? ' ordered' : ''}`;
}

export function registerWebhooksCommand(program: Command, run: ActionRunner): void {
  const webhooks = program
    .command('webhooks')
    .summary('outgoing webhook subscriptions, their delivery log, and the delivery engine')
    .description(
      'Manage outgoing webhooks (Standard Webhooks: webhook-id, webhook-timestamp, webhook-signature) in the store, and run the engine that delivers them',
    )
    .addHelpText(
      'after',
      `
Webhook URLs that resolve to private, loopback, link-local, unique-local or multicast
addresses are refused unless --allow (or ${WEBHOOKS_ALLOW_ENV}) permits their range.

Examples:
  $ eventfabric webhooks create --url https://example.com/hook --type 'shop.order.*' --tenant acme
  $ eventfabric webhooks list
  $ eventfabric webhooks deliveries <id> --status failed
  $ eventfabric webhooks recover <id> --since 2026-11-01T00:00:00Z
  $ eventfabric webhooks run`,
    );

  webhooks
    .command('create')
    .summary('create a subscription and print its secret once')
    .requiredOption('--url <url>', 'where deliveries are POSTed (http or https)')
    .option(
      '--type <pattern>',
      'an event type or pattern it receives (repeatable; default *)',
      collect,
    )
    .option('--tenant <name>', 'the tenant whose events it receives (default: events without one)')
    .option('--description <text>', 'a note for people')
    .option('--ordered', 'deliver one at a time, in log order')
    .option('--secret <whsec>', 'use this whsec_ secret instead of a new one')
    .addOption(allowOption())
    .action(
      run(async (ctx, command) => {
        const o = command.opts<{
          url: string;
          type?: string[];
          tenant?: string;
          description?: string;
          ordered?: boolean;
          secret?: string;
          allow?: string[];
        }>();
        const created = await withService(ctx, o, (service) =>
          service.create(undefined, {
            url: o.url,
            ...(o.type === undefined ? {} : { types: o.type }),
            ...(o.tenant === undefined ? {} : { tenant: o.tenant }),
            ...(o.description === undefined ? {} : { description: o.description }),
            ...(o.ordered === undefined ? {} : { ordered: true }),
            ...(o.secret === undefined ? {} : { secret: o.secret }),
          }),
        );
        ctx.out.result(
          [
            `created webhook ${describe(created)}`,
            created.secret,
            'This is the only time the secret is shown: give it to the receiver now.',
          ].join('\n'),
          created,
        );
      }),
    );

  webhooks
    .command('list')
    .summary('list subscriptions')
    .option('--tenant <name>', "only this tenant's")
    .action(
      run(async (ctx, command) => {
        const { tenant } = command.opts<{ tenant?: string }>();
        const list = await withService(ctx, {}, (service) => service.list(tenant));
        if (ctx.out.json) return ctx.out.data({ webhooks: list });
        if (list.length === 0) return ctx.out.say('no webhooks');
        for (const line of formatTable([
          ['ID', 'TENANT', 'URL', 'TYPES', 'STATE'],
          ...list.map((s) => [
            s.id,
            s.tenant === '' ? '-' : s.tenant,
            s.url,
            s.types.join(' '),
            s.enabled ? 'enabled' : `disabled (${s.disabledReason ?? 'manual'})`,
          ]),
        ]))
          ctx.out.say(line);
      }),
    );

  webhooks
    .command('show <id>')
    .summary('show one subscription')
    .action(
      run(async (ctx, command) => {
        const id = command.args[0]!;
        const s = await withService(ctx, {}, (service) => service.get(undefined, id));
        ctx.out.result(
          [
            describe(s),
            `tenant ${s.tenant === '' ? '-' : s.tenant}, ${s.signingSecrets} signing secret(s)`,
            ...(s.failingSince === undefined
              ? []
              : [`failing since ${new Date(s.failingSince).toISOString()}`]),
          ].join('\n'),
          s,
        );
      }),
    );

  webhooks
    .command('update <id>')
    .summary('change a subscription, or enable or disable it')
    .option('--url <url>', 'a new URL')
    .option('--type <pattern>', 'replace the type patterns (repeatable)', collect)
    .option('--description <text>', 'a new note')
    .option('--ordered', 'deliver in order')
    .option('--unordered', 'deliver concurrently')
    .option('--enable', 're-enable (after a 410 or a failing period); waiting deliveries resume')
    .option('--disable', 'stop delivering; deliveries wait')
    .addOption(allowOption())
    .action(
      run(async (ctx, command) => {
        const o = command.opts<{
          url?: string;
          type?: string[];
          description?: string;
          ordered?: boolean;
          unordered?: boolean;
          enable?: boolean;
          disable?: boolean;
          allow?: string[];
        }>();
        if (o.ordered && o.unordered) {
          throw new InvalidArgumentError('--ordered and --unordered exclude each other');
        }
        if (o.enable && o.disable) {
          throw new InvalidArgumentError('--enable and --disable exclude each other');
        }
        const patch = {
          ...(o.url === undefined ? {} : { url: o.url }),
          ...(o.type === undefined ? {} : { types: o.type }),
          ...(o.description === undefined ? {} : { description: o.description }),
          ...(o.ordered ? { ordered: true } : o.unordered ? { ordered: false } : {}),
          ...(o.enable ? { enabled: true } : o.disable ? { enabled: false } : {}),
        };
        const s = await withService(ctx, o, (service) =>
          service.update(undefined, command.args[0]!, patch),
        );
        ctx.out.result(`updated webhook ${describe(s)}`, s);
      }),
    );

  webhooks
    .command('delete <id>')
    .summary('delete a subscription with its deliveries and log')
    .action(
      run(async (ctx, command) => {
        const id = command.args[0]!;
        await withService(ctx, {}, (service) => service.delete(undefined, id));
        ctx.out.result(`deleted webhook ${id}`, { deleted: id });
      }),
    );

  webhooks
    .command('rotate-secret <id>')
    .summary('sign with a new secret; the old one keeps signing for the overlap')
    .option('--overlap-ms <ms>', 'how long the old secret keeps signing (default 24 h)', (v) =>
      Number.parseInt(v, 10),
    )
    .option('--secret <whsec>', 'use this whsec_ secret instead of a new one')
    .action(
      run(async (ctx, command) => {
        const o = command.opts<{ overlapMs?: number; secret?: string }>();
        const s = await withService(ctx, {}, (service) =>
          service.rotateSecret(undefined, command.args[0]!, {
            ...(o.overlapMs === undefined ? {} : { overlapMs: o.overlapMs }),
            ...(o.secret === undefined ? {} : { secret: o.secret }),
          }),
        );
        ctx.out.result(
          [`rotated the secret of webhook ${s.id}`, s.secret, 'Shown once: store it now.'].join(
            '\n',
          ),
          s,
        );
      }),
    );

  webhooks
    .command('deliveries <id>')
    .summary("a subscription's deliveries, newest first")
    .addOption(
      new Option('--status <status>', 'only these').choices(['pending', 'delivered', 'failed']),
    )
    .option('--limit <n>', 'at most this many (default 100)', parsePositiveInteger)
    .action(
      run(async (ctx, command) => {
        const o = command.opts<{ status?: DeliveryStatus; limit?: number }>();
        const list = await withService(ctx, {}, (service) =>
          service.deliveries(undefined, command.args[0]!, { status: o.status, limit: o.limit }),
        );
        if (ctx.out.json) return ctx.out.data({ deliveries: list });
        if (list.length === 0) return ctx.out.say('no deliveries');
        for (const line of formatTable([
          ['DELIVERY', 'EVENT', 'TYPE', 'STATUS', 'ATTEMPTS', 'LAST', 'NEXT'],
          ...list.map(deliveryRow),
        ]))
          ctx.out.say(line);
      }),
    );

  webhooks
    .command('attempts <id>')
    .summary("a subscription's attempt log, newest first (or one delivery's with --delivery)")
    .option('--delivery <id>', "one delivery's attempts")
    .option('--limit <n>', 'at most this many (default 100)', parsePositiveInteger)
    .action(
      run(async (ctx, command) => {
        const o = command.opts<{ delivery?: string; limit?: number }>();
        const attempts = await withService(ctx, {}, async (service) => {
          if (o.delivery === undefined) {
            return service.attempts(undefined, command.args[0]!, o.limit ?? 100);
          }
          return (await service.delivery(undefined, o.delivery)).attempts;
        });
        if (ctx.out.json) return ctx.out.data({ attempts });
        if (attempts.length === 0) return ctx.out.say('no attempts');
        for (const line of formatTable([
          ['AT', 'DELIVERY', 'ATTEMPT', 'OUTCOME', 'STATUS', 'MS', 'ERROR'],
          ...attempts.map((a) => [
            new Date(a.at).toISOString(),
            a.deliveryId,
            String(a.attempt),
            a.outcome,
            a.status === undefined ? '-' : String(a.status),
            String(a.latencyMs),
            a.error ?? '',
          ]),
        ]))
          ctx.out.say(line);
      }),
    );

  webhooks
    .command('resend <delivery>')
    .summary('send one delivery again now, with a fresh retry schedule')
    .action(
      run(async (ctx, command) => {
        const d = await withService(ctx, {}, (service) =>
          service.resend(undefined, command.args[0]!),
        );
        ctx.out.result(`delivery ${d.id} (event ${d.eventId}) queued again`, { delivery: d });
      }),
    );

  webhooks
    .command('recover <id>')
    .summary('queue every event since a time that the subscription never got')
    .requiredOption('--since <time>', 'an RFC 3339 time, compared with each event time')
    .action(
      run(async (ctx, command) => {
        const { since } = command.opts<{ since: string }>();
        const result = await withService(ctx, {}, (service) =>
          service.recover(undefined, command.args[0]!, since),
        );
        ctx.out.result(`queued ${result.enqueued} deliveries`, result);
      }),
    );

  webhooks
    .command('run')
    .summary('deliver webhooks until SIGINT or SIGTERM')
    .description(
      'run the delivery engine on the store: a consumer (group eventfabric.webhooks) fans the log out into durable deliveries, and a dispatcher sends them on their retry schedule; several may run',
    )
    .addOption(allowOption())
    .option(
      '--timeout-ms <ms>',
      'deadline of one HTTP attempt (default 15000)',
      parsePositiveInteger,
    )
    .option(
      '--retry-schedule <ms,…>',
      'delays between attempts, in ms, comma-separated (default about 3 days in 9 steps)',
      (v) => v.split(',').map((s) => Number(s.trim())),
    )
    .option('--jitter <ratio>', 'relative jitter on each delay (default 0.2)', Number)
    .option(
      '--disable-after-ms <ms>',
      'disable an endpoint failing for this long (default 5 days)',
      parsePositiveInteger,
    )
    .option('--lease-ms <ms>', 'claim lease of one attempt (default 60000)', parsePositiveInteger)
    .option(
      '--poll-ms <ms>',
      'longest sleep between looks at the queue (default 1000)',
      parsePositiveInteger,
    )
    .action(
      run(async (ctx, command) => {
        const o = command.opts<{
          allow?: string[];
          timeoutMs?: number;
          retrySchedule?: number[];
          jitter?: number;
          disableAfterMs?: number;
          leaseMs?: number;
          pollMs?: number;
        }>();
        const opened = await openStore(ctx.config());
        const signal = untilSignal();
        try {
          const transport = await openLogTransport(opened);
          const engine = await startWebhookEngine({
            store: webhookStore(opened),
            transport,
            deadLetters: deadLetterStore(opened),
            allow: allowlist(o),
            timeoutMs: o.timeoutMs,
            retrySchedule: o.retrySchedule,
            jitter: o.jitter,
            disableAfterMs: o.disableAfterMs,
            leaseMs: o.leaseMs,
            pollMs: o.pollMs,
          });
          ctx.out.result('delivering webhooks (SIGINT or SIGTERM to stop)', { running: true });
          await signal.finished;
          await engine.stop();
          await transport.close();
        } finally {
          signal.dispose();
          await opened.close();
        }
      }),
    );
}

function deliveryRow(d: WebhookDelivery): string[] {
  return [
    d.id,
    d.eventId,
    d.eventType,
    d.status,
    String(d.attempts),
    d.lastStatus === undefined ? (d.lastError ?? '-') : String(d.lastStatus),
    d.status === 'pending' ? new Date(d.nextAttemptAt).toISOString() : '-',
  ];
}
