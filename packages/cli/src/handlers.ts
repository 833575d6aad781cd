import { InvalidArgumentError as CommanderInvalidArgumentError } from 'commander';
import {
  InvalidArgumentError,
  InvalidConfigError,
  compileTopics,
  resolveRetryPolicy,
  type EventHandler,
} from '@eventfabric/core';
import type { ResolvedConfig } from './config.js';

// Handlers come from the config module's default export (`handlers: EventHandler[]`). They are
// checked when the file loads, so a typo fails every command with INVALID_CONFIG instead of
// surfacing halfway through a retry or a replay.

/** A service name: the first segment of a consumer group `<service>.<handler>`. */
const SERVICE_PATTERN = /^[a-z][a-z0-9_-]*$/;
/** A handler name: the rest of the group, lower-case and dotted (see core's GROUP_PATTERN). */
const HANDLER_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]*(\.[a-z0-9][a-z0-9_-]*)*$/;
const HANDLER_FLAGS = ['transactional', 'raw'] as const;

/** True when `name` can name a service in consumer groups. */
export function isServiceName(name: string): boolean {
  return SERVICE_PATTERN.test(name) && name.length <= 100;
}

/** `--service`: a lower-case service name (a usage error otherwise). */
export function parseServiceName(value: string): string {
  if (isServiceName(value)) return value;
  throw new CommanderInvalidArgumentError(
    'expected a lower-case service name: a letter, then letters, digits, _ or -',
  );
}

/**
 * Check the `handlers` of a config module: an array of objects, each with a lower-case
 * `name` used once, `on` (event types or patterns) and a `handle` function, and well-formed
 * optional `retry`, `transactional`, `raw` and `concurrency`.
 * @throws InvalidConfigError naming the file and the handler
 */
export function validateHandlers(value: unknown, label: string, file: string): EventHandler[] {
  const fail = (message: string, details: Record<string, unknown> = {}, cause?: unknown) =>
    new InvalidConfigError(
      `${label}: ${message}`,
      { file, ...details },
      cause === undefined ? undefined : { cause },
    );
  if (!Array.isArray(value)) throw fail('"handlers" must be an array of handlers');
  const seen = new Map<string, number>();
  value.forEach((handler: unknown, index) => {
    const at = `handlers[${index}]`;
    if (typeof handler !== 'object' || handler === null || Array.isArray(handler)) {
      throw fail(`${at} must be a handler object { name, on, handle }`, { handler: at });
    }
    const h = handler as Record<string, unknown>;
    if (typeof h.name !== 'string' || h.name === '') {
      throw fail(`${at} has no name (a non-empty string)`, { handler: at });
    }
    const name = h.name;
    const where = `handler "${name}" (${at})`;
    if (!HANDLER_NAME_PATTERN.test(name)) {
      throw fail(`${where}: the name must be lower-case: letters, digits, _ or -, dot-separated`, {
        handler: name,
      });
    }
    const earlier = seen.get(name);
    if (earlier !== undefined) {
      throw fail(`handler name "${name}" is used twice (handlers[${earlier}] and ${at})`, {
        handler: name,
      });
    }
    seen.set(name, index);
    if (!Array.isArray(h.on) || h.on.length === 0 || !h.on.every((t) => typeof t === 'string')) {
      throw fail(`${where} needs "on": a non-empty array of event types or patterns`, {
        handler: name,
      });
    }
    try {
      compileTopics(h.on as string[]);
    } catch (error) {
      throw fail(`${where}: ${(error as Error).message}`, { handler: name }, error);
    }
    if (typeof h.handle !== 'function') {
      throw fail(`${where} needs a handle(event, context) function`, { handler: name });
    }
    for (const flag of HANDLER_FLAGS) {
      if (h[flag] !== undefined && typeof h[flag] !== 'boolean') {
        throw fail(`${where}: "${flag}" must be true or false`, { handler: name });
      }
    }
    if (
      h.concurrency !== undefined &&
      (!Number.isSafeInteger(h.concurrency) || (h.concurrency as number) < 1)
    ) {
      throw fail(`${where}: "concurrency" must be an integer ≥ 1`, { handler: name });
    }
    if (h.retry !== undefined) {
      if (typeof h.retry !== 'object' || h.retry === null) {
        throw fail(`${where}: "retry" must be an object`, { handler: name });
      }
      try {
        resolveRetryPolicy(h.retry);
      } catch (error) {
        throw fail(`${where}: ${(error as Error).message}`, { handler: name }, error);
      }
    }
  });
  return value as EventHandler[];
}

/**
 * The configured handlers, for a command that runs them.
 * @throws InvalidConfigError when the configuration has none
 */
export function requireHandlers(config: ResolvedConfig, command: string): readonly EventHandler[] {
  if (config.handlers.length > 0) return config.handlers;
  const where =
    config.configFile === undefined
      ? 'there is no config file'
      : `${config.configFile} exports no handlers`;
  throw new InvalidConfigError(
    `${command} runs handlers, and ${where}: export them from eventfabric.config.mjs ` +
      '(export default { handlers: [...] })',
    config.configFile === undefined ? {} : { configFile: config.configFile },
  );
}

/**
 * The handler named `name`.
 * @throws InvalidArgumentError listing the configured handlers
 */
export function findHandler(handlers: readonly EventHandler[], name: string): EventHandler {
  const handler = handlers.find((h) => h.name === name);
  if (handler) return handler;
  throw unknownHandler(name, handlers);
}

/** The error for a handler name that is not configured. */
export function unknownHandler(
  name: string,
  handlers: readonly EventHandler[],
): InvalidArgumentError {
  const known = handlers.map((h) => h.name);
  return new InvalidArgumentError(
    `unknown handler "${name}"; the config has ${known.length === 0 ? 'no handlers' : known.join(', ')}`,
    { handler: name, known },
  );
}
