import type { DeadLetterReason, DeadLetterStore } from '@eventfabric/core';
import type { ResolvedConfig } from './config.js';
import type { CommandContext } from './context.js';
import { unknownHandler } from './handlers.js';
import { deadLetterStore, openStore, type OpenedStore } from './store.js';

// What the `dlq` subcommands share: opening the dead letters, and checking a selection
// before anything changes.

/** More than any dead-letter queue a person can act on from a shell. */
export const ALL_DEAD_LETTERS = 1_000_000_000;

/** Which dead letters `retry` and `purge` act on. */
export interface DeadLetterSelection {
  ids: string[];
  handler?: string;
  type?: string;
  reason?: DeadLetterReason;
  all?: boolean;
}

/** Open the store and its dead letters for one command. */
export async function withDeadLetters<T>(
  ctx: CommandContext,
  work: (deadLetters: DeadLetterStore, opened: OpenedStore, config: ResolvedConfig) => Promise<T>,
): Promise<T> {
  const config = ctx.config();
  const opened = await openStore(config);
  try {
    return await work(deadLetterStore(opened), opened, config);
  } finally {
    await opened.close();
  }
}

/**
 * A `--handler` must name a configured handler, or one that dead letters still name (its
 * handler may have been renamed since). Without configured handlers nothing is checked.
 * @throws InvalidArgumentError listing the configured handlers
 */
export async function assertKnownHandler(
  name: string | undefined,
  config: ResolvedConfig,
  deadLetters: DeadLetterStore,
): Promise<void> {
  if (name === undefined || config.handlers.length === 0) return;
  if (config.handlers.some((h) => h.name === name)) return;
  if ((await deadLetters.count({ handler: name })) > 0) return;
  throw unknownHandler(name, config.handlers);
}

/** @throws DeadLetterNotFoundError for the first id that is not a dead letter */
export async function assertDeadLettersExist(
  deadLetters: DeadLetterStore,
  ids: readonly string[],
): Promise<void> {
  for (const id of ids) await deadLetters.get(id);
}
