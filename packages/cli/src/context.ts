import type { Command } from 'commander';
import {
  loadConfigFile,
  resolveConfig,
  type LoadedConfigFile,
  type ResolvedConfig,
} from './config.js';
import { Output, type CliIo } from './output.js';

/** Options every command accepts (declared on the program), and `--service` where declared. */
export interface GlobalOptions {
  store?: string;
  schemas?: string;
  config?: string;
  service?: string;
  json?: boolean;
  allowForeignTypes?: boolean;
}

/** What a command's action gets: its streams, printer, global options and config. */
export interface CommandContext {
  io: CliIo;
  out: Output;
  globals: GlobalOptions;
  /** Resolve the configuration; throws INVALID_CONFIG. Called by commands that need a store. */
  config(): ResolvedConfig;
}

/** A command's body. It returns the exit code, or nothing for 0. */
export type Action = (ctx: CommandContext, command: Command) => Promise<number | void>;

/** Turns an {@link Action} into a commander action handler. */
export type ActionRunner = (action: Action) => (...args: unknown[]) => Promise<void>;

/**
 * Build the context for the command being run. A JavaScript config file can only be imported
 * asynchronously, so it is loaded here, before the action; a file that fails to load fails
 * only the commands that ask for the configuration, when they ask.
 */
export async function createContext(io: CliIo, command: Command): Promise<CommandContext> {
  const globals = command.optsWithGlobals<GlobalOptions>();
  const file: { loaded: LoadedConfigFile | null } | { error: unknown } = await loadConfigFile({
    path: globals.config,
  }).then(
    (loaded) => ({ loaded: loaded ?? null }),
    (error: unknown) => ({ error }),
  );
  let resolved: ResolvedConfig | undefined;
  return {
    io,
    out: new Output(io, globals.json === true),
    globals,
    config: () => {
      if ('error' in file) throw file.error;
      return (resolved ??= resolveConfig({
        store: globals.store,
        schemas: globals.schemas,
        service: globals.service,
        file: file.loaded,
      }));
    },
  };
}
