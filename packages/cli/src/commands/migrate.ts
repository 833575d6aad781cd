import type { Command } from 'commander';
import type { ActionRunner } from '../context.js';
import { applyMigrations, migrationState } from '../migrations.js';
import { plural } from '../output.js';
import { connectStore, describeStore } from '../store.js';

export function registerMigrateCommand(program: Command, run: ActionRunner): void {
  program
    .command('migrate')
    .summary('apply database migrations')
    .description(
      'create the store (a SQLite file, or a PostgreSQL schema) when missing and apply this ' +
        "build's pending migrations, each exactly once even when several processes run it",
    )
    .addHelpText(
      'after',
      `
Prints the versions applied by this run, then the store's version. With --json:
{"store":"…","kind":"sqlite"|"postgres","applied":[n, …],"migrations":[{"version","name"}, …]}.
Every other command also migrates a store it opens; run this one to do it at deploy time.

Examples:
  $ eventfabric migrate
  $ eventfabric migrate --store 'postgres://app@db:5432/events?schema=billing' --json`,
    )
    .action(
      run(async (ctx) => {
        const config = ctx.config();
        const before = new Date();
        const backend = await connectStore(config, { migrate: false });
        try {
          const applied = await applyMigrations(backend, before);
          const state = await migrationState(backend);
          const where = describeStore(config);
          const last = state.applied[state.applied.length - 1]?.version ?? 0;
          const text =
            applied.length === 0
              ? `${where} is up to date: migration ${last} is the latest`
              : `applied ${applied.length} ${plural(applied.length, 'migration')} to ${where}: ` +
                `${state.applied
                  .filter((m) => applied.includes(m.version))
                  .map((m) => `${m.version} ${m.name}`)
                  .join(', ')}; now at migration ${last}`;
          ctx.out.result(text, {
            store: where,
            kind: backend.kind,
            applied,
            migrations: state.applied,
          });
        } finally {
          await backend.store.close();
        }
      }),
    );
}
