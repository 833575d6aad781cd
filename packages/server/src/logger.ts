import { pino, type Logger } from 'pino';

/** The structured JSON logger the server writes through (pino). */
export type ServerLogger = Logger;

/** Options for {@link createLogger}. */
export interface CreateLoggerOptions {
  /** @defaultValue `'info'` */
  level?: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** File descriptor the JSON lines go to. @defaultValue 1 (stdout) */
  destination?: number;
}

/**
 * A pino logger writing one JSON object per line. Request lines carry `traceId` and
 * `spanId`, so a log line leads to its trace.
 */
export function createLogger(options: CreateLoggerOptions = {}): ServerLogger {
  return pino(
    { level: options.level ?? 'info', base: { service: 'eventfabric' } },
    pino.destination({ dest: options.destination ?? 1, sync: false }),
  );
}
