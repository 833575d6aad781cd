import type { Command } from 'commander';
import { resolveConfig, type ResolvedConfig } from './config.js';
import { Output, type CliIo } from './output.js';

/** Options every command accepts (declared on the program). */
export interface GlobalOptions {
  store?: string;
  schemas?: string;
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

/** Build the context for the command being run. */
export function createContext(io: CliIo, command: Command): CommandContext {
  const globals = command.optsWithGlobals<GlobalOptions>();
  let resolved: ResolvedConfig | undefined;
  return {
    io,
    out: new Output(io, globals.json === true),
    globals,
    config: () => (resolved ??= resolveConfig({ store: globals.store, schemas: globals.schemas })),
  };
}
