import { readFile } from 'node:fs/promises';
import { basename, dirname, relative, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import {
  checkSchemaFiles,
  COMPATIBILITY_MODES,
  InvalidArgumentError,
  InvalidSchemaError,
  parseEventType,
  type CompatibilityMode,
  type SchemaFileCheck,
} from '@eventfabric/core';
import { DEFAULT_SCHEMAS_DIR } from '../config.js';
import type { ActionRunner, CommandContext } from '../context.js';
import { ExitCode, plural } from '../output.js';
import { openStore } from '../store.js';

interface RegisterCommandOptions {
  type?: string;
  compatibility?: CompatibilityMode;
}

export function registerSchemaCommand(program: Command, run: ActionRunner): void {
  const schema = program
    .command('schema')
    .summary('register, list and check schemas')
    .description('the schema registry kept in the store: register, list and check schemas')
    .addHelpText(
      'after',
      `
Schema files live at schemas/<context>/<entity>.<verb>.v<N>.json and hold the JSON Schema
(2020-12) of the event's data.

Examples:
  $ eventfabric schema register schemas/agreements/contribution.submitted.v1.json
  $ eventfabric schema check   # in CI: exit 1 on a breaking change`,
    );

  schema
    .command('register')
    .summary("register a schema file as its type's next version")
    .description('register one schema file as the next version of its type')
    .argument(
      '<file>',
      'a JSON Schema file, e.g. schemas/agreements/contribution.submitted.v1.json',
    )
    .option(
      '--type <type>',
      'the event type (default: from the path <context>/<entity>.<verb>.v<N>.json)',
    )
    .addOption(
      new Option(
        '--compatibility <mode>',
        "the type's compatibility mode from this version on",
      ).choices(COMPATIBILITY_MODES),
    )
    .addHelpText(
      'after',
      `
Registering the same schema again changes nothing. A version that breaks the type's
compatibility mode (BACKWARD unless set) fails with INCOMPATIBLE_SCHEMA, listing each change.

Examples:
  $ eventfabric schema register schemas/people/member.registered.v2.json
  $ eventfabric schema register member.json --type people.member.registered.v1 --compatibility FULL`,
    )
    .action(run((ctx, command) => registerSchema(ctx, command)));

  schema
    .command('list')
    .summary('list registered schema versions')
    .description('list every registered schema version')
    .addHelpText(
      'after',
      `
Example:
  $ eventfabric schema list --json | jq '.[].type'`,
    )
    .action(run((ctx) => listSchemas(ctx)));

  schema
    .command('check')
    .summary('compare schema files with the registry (CI gate)')
    .description(
      'compare schema files with the registry in the store, registering nothing; print each ' +
        'breaking change and exit 1 if there is one (a CI gate)',
    )
    .argument('[dir]', 'schema directory (default: --schemas, the config file, or ./schemas)')
    .addHelpText(
      'after',
      `
Example:
  $ eventfabric schema check schemas || echo "breaking schema change"`,
    )
    .action(run((ctx, command) => checkSchemas(ctx, command)));
}

async function registerSchema(ctx: CommandContext, command: Command): Promise<void> {
  const [file] = command.processedArgs as [string];
  const options = command.opts<RegisterCommandOptions>();
  const config = ctx.config();
  const schema = await readSchemaFile(file);
  const type = options.type ?? typeFromPath(file);
  const opened = await openStore(config);
  try {
    const result = await opened.registry.register(type, schema, {
      compatibility: options.compatibility,
    });
    ctx.out.result(
      result.created
        ? `registered ${result.type} (${result.id})`
        : `${result.type} is already registered with this schema; nothing changed`,
      result,
    );
  } finally {
    await opened.close();
  }
}

async function listSchemas(ctx: CommandContext): Promise<void> {
  const opened = await openStore(ctx.config());
  try {
    const records = opened.registry.list();
    ctx.out.data(records);
    if (records.length === 0) ctx.out.say('no schemas registered');
    for (const r of records) {
      ctx.out.say(`${r.type.padEnd(44)} ${r.compatibility.padEnd(19)} ${r.registeredAt}`);
    }
  } finally {
    await opened.close();
  }
}

async function checkSchemas(ctx: CommandContext, command: Command): Promise<number> {
  const [dirArg] = command.processedArgs as [string | undefined];
  const config = ctx.config();
  const dir = resolve(dirArg ?? config.schemasDir ?? DEFAULT_SCHEMAS_DIR);
  const opened = await openStore(config);
  let checks: SchemaFileCheck[];
  try {
    checks = await checkSchemaFiles(opened.registry, dir);
  } finally {
    await opened.close();
  }
  const breaking = checks.filter((c) => !c.compatible);
  const changes = breaking.reduce((n, c) => n + c.changes.length, 0);
  ctx.out.data({ compatible: breaking.length === 0, files: checks });
  for (const check of checks) {
    const file = relative(dir, check.file);
    const state = check.compatible ? (check.new ? 'new' : 'unchanged') : 'BREAKING';
    ctx.out.say(`${state.padEnd(9)} ${check.type} (${check.mode})  ${file}`);
    for (const change of check.changes) {
      ctx.out.say(`  - ${change.message} (vs v${change.against})`);
    }
  }
  ctx.out.say(
    breaking.length === 0
      ? `${checks.length} ${plural(checks.length, 'schema file')} checked: no breaking change`
      : `${changes} breaking ${plural(changes, 'change')} in ${breaking.length} ` +
          `${plural(breaking.length, 'file')}`,
  );
  return breaking.length === 0 ? ExitCode.ok : ExitCode.failure;
}

/**
 * The type a schema file holds, from its path: `<context>/<entity>.<verb>.v<N>.json`.
 * @throws InvalidArgumentError when the path does not follow the layout
 */
export function typeFromPath(file: string): string {
  const context = basename(dirname(resolve(file)));
  const name = basename(file);
  const type = name.endsWith('.json') ? `${context}.${name.slice(0, -'.json'.length)}` : '';
  const parsed = parseEventType(type);
  if (parsed === undefined || parsed.context !== context) {
    throw new InvalidArgumentError(
      `cannot tell the event type from ${file}: name the file ` +
        '<context>/<entity>.<verb>.v<N>.json (lower-case), or pass --type',
      { file },
    );
  }
  return type;
}

/** @throws InvalidArgumentError when unreadable; InvalidSchemaError when not a JSON object */
async function readSchemaFile(file: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new InvalidArgumentError(`cannot read ${file}: ${reason}`, { file }, { cause: error });
  }
  let schema: unknown;
  try {
    schema = JSON.parse(text);
  } catch (error) {
    throw new InvalidSchemaError(
      `${file}: not valid JSON: ${(error as Error).message}`,
      { file },
      { cause: error },
    );
  }
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) {
    throw new InvalidSchemaError(`${file}: a data schema must be a JSON object`, { file });
  }
  return schema as Record<string, unknown>;
}
