import { createRequire } from 'node:module';
import { Command, CommanderError } from 'commander';
import { registerAppendCommand } from './commands/append.js';
import { registerConsumeCommand } from './commands/consume.js';
import { registerDemoCommand } from './commands/demo.js';
import { registerDlqCommand } from './commands/dlq.js';
import { registerDoctorCommand } from './commands/doctor.js';
import { registerInitCommand } from './commands/init.js';
import { registerKeysCommand } from './commands/keys.js';
import { registerMigrateCommand } from './commands/migrate.js';
import { registerProjectionsCommand } from './commands/projections.js';
import { registerSagasCommand } from './commands/sagas.js';
import { registerPublishCommand } from './commands/publish.js';
import { registerReadCommand } from './commands/read.js';
import { registerReplayCommand } from './commands/replay.js';
import { registerSchemaCommand } from './commands/schema.js';
import { registerServeCommand } from './commands/serve.js';
import { registerTailCommand } from './commands/tail.js';
import { registerTopologyCommand } from './commands/topology.js';
import { registerWebhooksCommand } from './commands/webhooks.js';
import { createContext, type ActionRunner } from './context.js';
import { ExitCode, Output, UsageError, type CliIo } from './output.js';

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

/**
 * Run the CLI once. `argv` is in `process.argv` form (`[node, script, ...args]`). Output goes
 * to `io` (the process's streams by default), so tests can run it in-process.
 * Resolves with the exit code: 0 ok, 1 failure, 2 usage error. Never rejects.
 */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  let exitCode: number = ExitCode.ok;
  const run: ActionRunner =
    (action) =>
    async (...args) => {
      const command = args[args.length - 1] as Command;
      const code = await action(await createContext(io, command), command);
      exitCode = code ?? ExitCode.ok;
    };
  const program = buildProgram(io, run);
  try {
    await program.parseAsync([...argv]);
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError && error.exitCode === 0) return ExitCode.ok;
    return new Output(io, argv.includes('--json')).error(error);
  }
}

/** The commander program, with every command registered. Parsing errors throw. */
export function buildProgram(io: CliIo, run: ActionRunner): Command {
  const program = new Command('eventfabric')
    .description(
      'EventFabric: append, read, follow and validate CloudEvents in an event store; ' +
        'redrive dead letters and replay handlers.',
    )
    .version(version, '-V, --version', 'print the version')
    .option(
      '--store <url>',
      'store URL: sqlite:<path>, sqlite::memory: or postgres://user@host:port/db[?schema=name] ' +
        '(env EVENTFABRIC_STORE)',
    )
    .option('--schemas <dir>', 'schema directory to load (default ./schemas when it exists)')
    .option(
      '--config <file>',
      'config file: .mjs, .js or .json (default: eventfabric.config.mjs, .js or .json here)',
    )
    .option('--json', 'machine-readable output (errors as JSON on stderr)')
    .option('--allow-foreign-types', 'admit event types outside <context>.<entity>.<verb>.v<N>')
    .addHelpText(
      'after',
      `
Configuration (first match wins): --store, EVENTFABRIC_STORE, the config file (--config, or
eventfabric.config.mjs, .js or .json in the working directory), then
sqlite:.eventfabric/eventfabric.db. Handlers for dlq retry and replay come from a JavaScript
config file's default export: export default { store, schemas, service, handlers }.
Exit codes: 0 ok, 1 failure, 2 usage error.

Example:
  $ eventfabric init && eventfabric demo`,
    );
  configureCommand(program, io);

  registerServeCommand(program, run);
  registerInitCommand(program, run);
  registerMigrateCommand(program, run);
  registerAppendCommand(program, run);
  registerReadCommand(program, run);
  registerTailCommand(program, run);
  registerPublishCommand(program, run);
  registerSchemaCommand(program, run);
  registerDlqCommand(program, run);
  registerReplayCommand(program, run);
  registerConsumeCommand(program, run);
  registerProjectionsCommand(program, run);
  registerSagasCommand(program, run);
  registerDoctorCommand(program, run);
  registerDemoCommand(program, run);
  registerKeysCommand(program, run);
  registerTopologyCommand(program, run);
  registerWebhooksCommand(program, run);

  for (const command of allCommands(program)) configureCommand(command, io);
  return program;
}

/** Route commander's output to `io`, and turn its exits into thrown errors. */
function configureCommand(command: Command, io: CliIo): void {
  command
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      // Printed by main() in the CLI's own error format instead.
      outputError: () => undefined,
    })
    .configureHelp({ showGlobalOptions: true })
    .exitOverride((error) => {
      if (error.exitCode === 0) throw error;
      const message =
        error.code === 'commander.help' ? 'missing command' : error.message.replace(/^error: /, '');
      throw new UsageError(message, `${commandPath(command)} --help`);
    });
}

function allCommands(command: Command): Command[] {
  return command.commands.flatMap((child) => [child, ...allCommands(child)]);
}

function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

function processIo(): CliIo {
  return { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr };
}
