import type { Logger } from './handler.js';

/** The default logger: drops everything. Pass pino (or any compatible logger) to see logs. */
export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silentLogger,
};
