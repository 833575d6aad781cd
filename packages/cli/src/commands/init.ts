import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import type { Command } from 'commander';
import { InvalidArgumentError } from '@eventfabric/core';
import { createSqliteEventStore, makeDirectories } from '@eventfabric/sqlite';
import {
  CONFIG_FILE_NAME,
  DEFAULT_SCHEMAS_DIR,
  DEFAULT_STORE_URL,
  loadConfigFile,
  resolveConfig,
} from '../config.js';
import type { ActionRunner } from '../context.js';
import { applyMigrations } from '../migrations.js';
import { connectStore } from '../store.js';

/** The example schema `init` writes into an empty schema directory. */
export const EXAMPLE_SCHEMA_PATH = 'agreements/contribution.submitted.v1.json';
export const EXAMPLE_SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  title: 'A member submitted a contribution to an agreement',
  type: 'object',
  required: ['contributionId', 'memberId', 'amount'],
  properties: {
    contributionId: { type: 'string', minLength: 1 },
    memberId: { type: 'string', minLength: 1 },
    amount: { type: 'number', exclusiveMinimum: 0 },
    note: { type: 'string' },
  },
};

interface InitResult {
  dir: string;
  created: string[];
  kept: string[];
}

export function registerInitCommand(program: Command, run: ActionRunner): void {
  program
    .command('init')
    .summary('set up a project: example schema, config file and store')
    .description(
      'set up a project: schemas/ with an example schema, eventfabric.config.json and the ' +
        'store. Never overwrites a file; safe to run again',
    )
    .argument('[dir]', 'project directory', '.')
    .addHelpText(
      'after',
      `
Example:
  $ eventfabric init my-app && cd my-app && eventfabric schema list`,
    )
    .action(
      run(async (ctx, command) => {
        const [dirArg] = command.processedArgs as [string];
        const dir = resolve(dirArg);
        const result = await initProject(dir, {
          store: ctx.globals.store,
          schemas: ctx.globals.schemas,
        }).catch((error: NodeJS.ErrnoException) => {
          // File-system refusals (EACCES, ENOTDIR, EROFS) are the directory's, not a bug.
          if (typeof error.syscall !== 'string') throw error;
          throw new InvalidArgumentError(
            `cannot set up ${dir}: ${error.message}`,
            { dir },
            { cause: error },
          );
        });
        const lines = [
          ...result.created.map((p) => `created ${p}`),
          ...result.kept.map((p) => `kept    ${p} (already exists)`),
        ];
        ctx.out.result(lines.join('\n'), result);
      }),
    );
}

/** Create what is missing of a project in `dir`; report what was created and what was kept. */
export async function initProject(
  dir: string,
  flags: { store?: string; schemas?: string } = {},
): Promise<InitResult> {
  const result: InitResult = { dir, created: [], kept: [] };
  const show = (path: string) => relative(dir, path) || '.';
  makeDirectories(dir);

  // Any config file counts (eventfabric.config.mjs too): a second one would be ambiguous.
  const existingConfig = await loadConfigFile({ cwd: dir });
  const schemasName = flags.schemas ?? existingConfig?.config.schemas ?? DEFAULT_SCHEMAS_DIR;
  const schemasDir = resolve(dir, schemasName);
  if (existsSync(schemasDir) && readdirSync(schemasDir).length > 0) {
    result.kept.push(`${show(schemasDir)}/`);
  } else {
    const file = join(schemasDir, EXAMPLE_SCHEMA_PATH);
    makeDirectories(dirname(file));
    writeFileSync(file, `${JSON.stringify(EXAMPLE_SCHEMA, null, 2)}\n`, { flag: 'wx' });
    result.created.push(show(file));
  }

  const configPath = join(dir, CONFIG_FILE_NAME);
  if (existingConfig) {
    result.kept.push(show(existingConfig.path));
  } else {
    const config = { store: flags.store ?? DEFAULT_STORE_URL, schemas: schemasName };
    writeFileSync(configPath, `${JSON.stringify(config, null, 2)}\n`, { flag: 'wx' });
    result.created.push(CONFIG_FILE_NAME);
  }

  const { store } = resolveConfig({ store: flags.store, cwd: dir, file: existingConfig });
  if (store.kind === 'postgres') {
    // The schema is reported like a file: created when this run applied its migrations.
    const backend = await connectStore({ store }, { migrate: false });
    try {
      const applied = await applyMigrations(backend, new Date());
      (applied.length > 0 ? result.created : result.kept).push(`postgres schema ${store.schema}`);
    } finally {
      await backend.store.close();
    }
  } else if (store.path !== ':memory:') {
    const existed = existsSync(store.path);
    // Opening the store creates its file and applies every migration.
    await createSqliteEventStore({ path: store.path }).close();
    (existed ? result.kept : result.created).push(show(store.path));
  }
  return result;
}
