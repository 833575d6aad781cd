import type { Command } from 'commander';
import {
  InvalidArgumentError,
  InvalidConfigError,
  listProjections,
  projectionStatuses,
  rebuildProjection,
  startProjections,
  verifyProjection,
  type CompiledProjection,
  type ProjectionStorage,
} from '@eventfabric/core';
import { PostgresProjectionStorage } from '@eventfabric/postgres';
import { SqliteProjectionStorage } from '@eventfabric/sqlite';
import type { ResolvedConfig } from '../config.js';
import type { ActionRunner } from '../context.js';
import { ExitCode, plural } from '../output.js';
import { openStore, type OpenedStore, type StoreBackend } from '../store.js';
import { formatTable } from '../table.js';
import { untilSignal } from '../until-signal.js';

export function registerProjectionsCommand(program: Command, run: ActionRunner): void {
  const projections = program
    .command('projections')
    .summary('list, inspect, build and verify projections')
    .description(
      "the config file's projections (export default { projections: [defineProjection(…)] }): " +
        'read models kept in the store, built from the log with their checkpoint in the same ' +
        "transaction. Raising a projection's version rebuilds it beside the live one, which is " +
        'swapped out once the new one has caught up',
    )
    .addHelpText(
      'after',
      `
Examples:
  $ eventfabric projections list
  $ eventfabric projections status --json
  $ eventfabric projections rebuild balances
  $ eventfabric projections verify balances
  $ eventfabric projections run`,
    );

  projections
    .command('list')
    .summary('the configured projections with their defined and live versions')
    .action(
      run(async (ctx) => {
        const config = ctx.config();
        const defined = requireProjections(config);
        await withStorage(config, async (_, storage) => {
          const rows = await listProjections(storage, defined);
          ctx.out.result(
            formatTable([
              ['NAME', 'VERSION', 'LIVE', 'TABLES'],
              ...rows.map((r) => [
                r.name,
                String(r.version),
                String(r.live ?? '-'),
                r.tables.join(','),
              ]),
            ]).join('\n'),
            rows,
          );
        });
      }),
    );

  projections
    .command('status')
    .summary("each projection's versions: position, lag and last error")
    .argument('[name]', 'one projection (default: all)')
    .action(
      run(async (ctx, command) => {
        const config = ctx.config();
        const [name] = command.args as [string | undefined];
        const selected = select(requireProjections(config), name);
        await withStorage(config, async (opened, storage) => {
          const rows = await projectionStatuses(opened.store, storage, selected);
          ctx.out.result(
            formatTable([
              ['NAME', 'VERSION', 'MODE', 'POSITION', 'LAG', 'LAST ERROR'],
              ...rows.map((r) => [
                r.name,
                String(r.version),
                r.mode,
                r.position ?? '-',
                String(r.lag),
                r.lastError ? `${r.lastError.message} (at ${r.lastError.position ?? '-'})` : '-',
              ]),
            ]).join('\n'),
            rows,
          );
        });
      }),
    );

  projections
    .command('rebuild')
    .summary('build the defined version now, beside the live one, and swap it in')
    .argument('<name>', 'the projection')
    .description(
      'build the configured version of a projection from the start of the log into its own ' +
        'tables while the live version keeps serving, swap it in once it has caught up, and ' +
        'drop the old tables. A projection already live at its configured version is left as ' +
        'is, unless --force rebuilds it in place (its rows replaced in one transaction)',
    )
    .option('--force', 'rebuild a projection live at its configured version too, in place')
    .action(
      run(async (ctx, command) => {
        const config = ctx.config();
        const [name] = command.args as [string];
        const { force } = command.opts<{ force?: boolean }>();
        const [projection] = select(requireProjections(config), name);
        await withStorage(config, async (opened, storage) => {
          const result = await rebuildProjection({
            store: opened.store,
            storage,
            projection: projection!,
            force: force === true,
          });
          if (result.repaired !== undefined) {
            const rows = result.repaired.reduce(
              (n, d) => n + d.missing.length + d.unexpected.length,
              0,
            );
            ctx.out.result(
              `${name} version ${result.version} rebuilt in place at position ${result.position ?? '-'}` +
                ` (${rows} differing ${plural(rows, 'row')} replaced)`,
              {
                name,
                version: result.version,
                built: true,
                position: result.position,
                repaired: result.repaired,
              },
            );
            return;
          }
          if (!result.built) {
            ctx.out.result(`${name} is live at version ${result.version}: nothing to build`, {
              name,
              version: result.version,
              built: false,
            });
            return;
          }
          ctx.out.result(
            `${name} version ${result.version} is live at position ${result.position ?? '-'}` +
              (result.replaced === null ? '' : ` (version ${result.replaced} dropped)`),
            { name, version: result.version, built: true, position: result.position },
          );
        });
      }),
    );

  projections
    .command('verify')
    .summary('rebuild into a shadow and report every difference from the live model')
    .argument('<name>', 'the projection')
    .action(
      run(async (ctx, command) => {
        const config = ctx.config();
        const [name] = command.args as [string];
        const [projection] = select(requireProjections(config), name);
        return withStorage(config, async (opened, storage) => {
          const report = await verifyProjection({
            store: opened.store,
            storage,
            projection: projection!,
          });
          const rows = report.differences.reduce(
            (n, d) => n + d.missing.length + d.unexpected.length,
            0,
          );
          const lines = report.equal
            ? [
                `${name} version ${report.version} matches a rebuild at position ${report.position ?? '-'}`,
              ]
            : [
                `${name} version ${report.version} differs from a rebuild at position ${report.position ?? '-'}: ${rows} ${plural(rows, 'row')}`,
                ...report.differences.flatMap((d) => [
                  ...d.missing.map((row) => `  ${d.table}: missing    ${JSON.stringify(row)}`),
                  ...d.unexpected.map((row) => `  ${d.table}: unexpected ${JSON.stringify(row)}`),
                ]),
              ];
          ctx.out.result(lines.join('\n'), report);
          return report.equal ? ExitCode.ok : ExitCode.failure;
        });
      }),
    );

  projections
    .command('run')
    .summary('keep the projections up to date until SIGINT or SIGTERM')
    .action(
      run(async (ctx) => {
        const config = ctx.config();
        const defined = requireProjections(config);
        await withStorage(config, async (opened, storage) => {
          const signal = untilSignal();
          const daemon = await startProjections({
            store: opened.store,
            storage,
            projections: defined,
          });
          try {
            ctx.out.say(
              `running ${defined.length} ${plural(defined.length, 'projection')}: ${defined.map((p) => p.name).join(', ')}; SIGINT or SIGTERM stops`,
            );
            await signal.finished;
          } finally {
            signal.dispose();
            await daemon.stop();
          }
          ctx.out.say('stopped');
        });
      }),
    );
}

function requireProjections(config: ResolvedConfig): readonly CompiledProjection[] {
  if (config.projections.length > 0) return config.projections;
  throw new InvalidConfigError(
    'no projections are configured: export them from eventfabric.config.mjs ' +
      '(export default { projections: [defineProjection({ … })] })',
    config.configFile === undefined ? {} : { configFile: config.configFile },
  );
}

function select(
  projections: readonly CompiledProjection[],
  name: string | undefined,
): readonly CompiledProjection[] {
  if (name === undefined) return projections;
  const found = projections.find((p) => p.name === name);
  if (found) return [found];
  throw new InvalidArgumentError(
    `no projection named "${name}" (configured: ${projections.map((p) => p.name).join(', ')})`,
    { projection: name },
  );
}

/** The projection storage in the store's own database (what `serve` gives the server too). */
export function projectionStorageOf(backend: StoreBackend): ProjectionStorage {
  return backend.kind === 'sqlite'
    ? (new SqliteProjectionStorage(backend.store) as ProjectionStorage)
    : (new PostgresProjectionStorage(backend.store) as ProjectionStorage);
}

async function withStorage<T>(
  config: ResolvedConfig,
  work: (opened: OpenedStore, storage: ProjectionStorage) => Promise<T>,
): Promise<T> {
  const opened = await openStore(config);
  const storage = projectionStorageOf(opened.backend);
  try {
    return await work(opened, storage);
  } finally {
    await opened.close();
  }
}
