import { InvalidArgumentError, type Command } from 'commander';
import {
  InvalidConfigError,
  NotFoundError,
  startSagas,
  type SagaInstance,
  type SagaStatus,
  type SagaStorage,
} from '@eventfabric/core';
import { PostgresSagaStorage } from '@eventfabric/postgres';
import { SqliteSagaStorage } from '@eventfabric/sqlite';
import { parsePositiveInteger } from '../arguments.js';
import type { ActionRunner } from '../context.js';
import { plural } from '../output.js';
import { openStore, type StoreBackend } from '../store.js';
import { formatTable } from '../table.js';
import { untilSignal } from '../until-signal.js';

const STATUSES: readonly SagaStatus[] = ['running', 'completed', 'compensated'];

interface ListOptions {
  saga?: string;
  status?: SagaStatus;
  limit: number;
}

function parseStatus(value: string): SagaStatus {
  if (!STATUSES.includes(value as SagaStatus)) {
    throw new InvalidArgumentError(`expected one of ${STATUSES.join(', ')}`);
  }
  return value as SagaStatus;
}

/** The saga storage in the store's database. */
export function sagaStorageOf(backend: StoreBackend): SagaStorage {
  return backend.kind === 'sqlite'
    ? (new SqliteSagaStorage(backend.store) as SagaStorage)
    : (new PostgresSagaStorage(backend.store) as SagaStorage);
}

export function registerSagasCommand(program: Command, run: ActionRunner): void {
  const sagas = program
    .command('sagas')
    .summary('inspect saga instances')
    .description(
      "run the config file's sagas (export default { sagas: [defineSaga(…)] }) over the log, " +
        'and inspect their instances: where each stands, its state, why it was compensated and ' +
        'what happened to it, event by event',
    )
    .addHelpText(
      'after',
      `
Examples:
  $ eventfabric sagas run
  $ eventfabric sagas list --status running
  $ eventfabric sagas list --saga allocation --json
  $ eventfabric sagas show allocation 0192f0c4-7d1e-7c3a-9d1b-2f8e4c1a5b6d`,
    );

  sagas
    .command('run')
    .summary('run the configured sagas until SIGINT or SIGTERM (their timeouts included)')
    .action(
      run(async (ctx) => {
        const config = ctx.config();
        if (config.sagas.length === 0) {
          throw new InvalidConfigError(
            'no sagas are configured: export them from eventfabric.config.mjs ' +
              '(export default { sagas: [defineSaga({ … })] })',
            config.configFile === undefined ? {} : { configFile: config.configFile },
          );
        }
        const opened = await openStore(config);
        try {
          const signal = untilSignal();
          const daemon = await startSagas({
            store: opened.store,
            storage: sagaStorageOf(opened.backend),
            sagas: config.sagas,
          });
          try {
            const names = config.sagas.map((s) => s.name).join(', ');
            ctx.out.say(
              `running ${config.sagas.length} ${plural(config.sagas.length, 'saga')}: ${names}; SIGINT or SIGTERM stops`,
            );
            await signal.finished;
          } finally {
            signal.dispose();
            await daemon.stop();
          }
          ctx.out.say('stopped');
        } finally {
          await opened.close();
        }
      }),
    );

  sagas
    .command('list')
    .summary('saga instances, most recently changed first')
    .option('--saga <name>', 'only this saga')
    .option('--status <status>', `only instances ${STATUSES.join(', ')}`, parseStatus)
    .option('--limit <n>', 'at most this many', parsePositiveInteger, 100)
    .action(
      run(async (ctx, command) => {
        const options = command.opts<ListOptions>();
        const opened = await openStore(ctx.config());
        try {
          const rows = await sagaStorageOf(opened.backend).instances({
            ...(options.saga === undefined ? {} : { saga: options.saga }),
            ...(options.status === undefined ? {} : { status: options.status }),
            limit: options.limit,
          });
          ctx.out.result(
            rows.length === 0
              ? 'no saga instances'
              : formatTable([
                  ['SAGA', 'INSTANCE', 'STATUS', 'STEP', 'RUN', 'UPDATED'],
                  ...rows.map((r) => [
                    r.saga,
                    r.id,
                    r.status,
                    stepName(r),
                    String(r.run),
                    r.updatedAt,
                  ]),
                ]).join('\n'),
            rows.map(({ history, ...rest }) => ({ ...rest, historyLength: history.length })),
          );
        } finally {
          await opened.close();
        }
      }),
    );

  sagas
    .command('show')
    .summary('one instance: its state, failure and history')
    .argument('<saga>', 'the saga name')
    .argument('<instance>', 'the instance id (the correlation id of the event that started it)')
    .action(
      run(async (ctx, command) => {
        const [saga, id] = command.args as [string, string];
        const opened = await openStore(ctx.config());
        try {
          const instance = await sagaStorageOf(opened.backend).instance(saga, id);
          if (instance === undefined) {
            throw new NotFoundError(`no instance ${id} of saga ${saga}`, { saga, instance: id });
          }
          ctx.out.result(describe(instance), instance);
        } finally {
          await opened.close();
        }
      }),
    );
}

function stepName(instance: SagaInstance): string {
  const started = [...instance.history].reverse().find((h) => h.step !== undefined);
  return started?.step ?? String(instance.step);
}

function describe(instance: SagaInstance): string {
  const lines = [
    `saga      ${instance.saga}`,
    `instance  ${instance.id}`,
    `status    ${instance.status}`,
    `step      ${stepName(instance)} (run ${instance.run})`,
    `started   ${instance.startedAt}`,
    `updated   ${instance.updatedAt}`,
  ];
  if (instance.failure) {
    lines.push(`failure   ${instance.failure.step}: ${instance.failure.reason}`);
  }
  lines.push(`state     ${JSON.stringify(instance.state)}`, 'history');
  for (const h of instance.history) {
    const step = h.step === undefined ? '' : ` ${h.step}${h.run === undefined ? '' : `#${h.run}`}`;
    const reason = h.reason === undefined ? '' : ` (${h.reason})`;
    lines.push(
      `  ${h.at}  ${h.what}${step}${reason}  ← ${h.event.type} @${h.event.position ?? '-'}`,
    );
  }
  return lines.join('\n');
}
