import type { Readable, Writable } from 'node:stream';
import { ErrorCodes, EventFabricError, type StoredEvent } from '@eventfabric/core';

/** The streams a CLI run reads and writes; `process.stdin/stdout/stderr` in the binary. */
export interface CliIo {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
}

/** Exit codes: 0 ok, 1 failure, 2 usage error. */
export const ExitCode = { ok: 0, failure: 1, usage: 2 } as const;

/** The code printed for an error that is not an EventFabricError: a bug, not bad input. */
export const INTERNAL_ERROR_CODE = 'INTERNAL';

/** Prints results for people, or as JSON with `--json`. Errors go to stderr. */
export class Output {
  constructor(
    readonly io: CliIo,
    readonly json: boolean,
  ) {}

  /** A line for people on stdout; nothing in `--json` mode. */
  say(text: string): void {
    if (!this.json) this.io.stdout.write(`${text}\n`);
  }

  /** One JSON document on its own line on stdout, in `--json` mode only. */
  data(value: unknown): void {
    if (this.json) this.io.stdout.write(`${JSON.stringify(value)}\n`);
  }

  /** `say(text)` for people, `data(value)` with `--json`. */
  result(text: string, value: unknown): void {
    if (this.json) this.data(value);
    else this.say(text);
  }

  /** One stored event: a JSON line with `--json`, else a readable summary line. */
  event(event: StoredEvent): void {
    if (this.json) this.data(event);
    else this.say(formatEvent(event));
  }

  /** Print an error on stderr and return the exit code it maps to. */
  error(error: unknown): number {
    const { exitCode, code, message, details, stack } = describeError(error);
    if (this.json) {
      this.io.stderr.write(`${JSON.stringify({ error: { code, message, details } })}\n`);
    } else {
      const lines = [`error [${code}]: ${message}`, ...formatDetails(code, details)];
      if (stack) lines.push(stack);
      this.io.stderr.write(`${lines.join('\n')}\n`);
    }
    return exitCode;
  }
}

/** An EventFabricError as people read it: `error [CODE]: message`, then its details. */
export function formatError(error: EventFabricError): string[] {
  return [`error [${error.code}]: ${error.message}`, ...formatDetails(error.code, error.details)];
}

/** `position  stream@version  type  id  time`: one event on one line. */
export function formatEvent(event: StoredEvent): string {
  return [
    event.position.padStart(6),
    `${event.subject}@${event.streamversion}`,
    event.type,
    event.id,
    event.time,
  ].join('  ');
}

/** `noun` or `nouns`, for counts in messages. */
export function plural(count: number, noun: string): string {
  return count === 1 ? noun : `${noun}s`;
}

interface ErrorReport {
  exitCode: number;
  code: string;
  message: string;
  details: Record<string, unknown>;
  /** Only for unexpected errors, where the trace is what a bug report needs. */
  stack?: string;
}

/** A usage error (exit 2): a commander parse error, with the command's `--help` to point to. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly help: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

function describeError(error: unknown): ErrorReport {
  if (error instanceof EventFabricError) {
    return {
      exitCode: ExitCode.failure,
      code: error.code,
      message: error.message,
      details: error.details,
    };
  }
  if (error instanceof UsageError) {
    return {
      exitCode: ExitCode.usage,
      code: ErrorCodes.INVALID_ARGUMENT,
      message: error.message,
      details: { help: error.help },
    };
  }
  const err = error instanceof Error ? error : new Error(String(error));
  // A file-system refusal (EACCES, ENOSPC) is the machine's problem; anything else is a bug,
  // and its stack trace is what the bug report needs.
  const systemError = typeof (err as NodeJS.ErrnoException).syscall === 'string';
  return {
    exitCode: ExitCode.failure,
    code: INTERNAL_ERROR_CODE,
    message: err.message,
    details: {},
    stack: systemError ? undefined : err.stack,
  };
}

/** Details as indented lines. Lists of `{ path, message }` print one item per line. */
function formatDetails(code: string, details: Record<string, unknown>): string[] {
  const lines: string[] = [];
  for (const [key, value] of Object.entries(details)) {
    // The message of INCOMPATIBLE_SCHEMA already lists every change.
    if (code === ErrorCodes.INCOMPATIBLE_SCHEMA && key === 'changes') continue;
    if (Array.isArray(value) && value.every(isPathMessage)) {
      lines.push(`  ${key}:`);
      for (const item of value) {
        const against = typeof item.against === 'number' ? ` (vs v${item.against})` : '';
        lines.push(`    - ${item.path}: ${item.message}${against}`);
      }
    } else if (typeof value === 'string') {
      lines.push(`  ${key}: ${value}`);
    } else {
      lines.push(`  ${key}: ${JSON.stringify(value)}`);
    }
  }
  return lines;
}

function isPathMessage(
  value: unknown,
): value is { path: string; message: string; against?: unknown } {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { path?: unknown }).path === 'string' &&
    typeof (value as { message?: unknown }).message === 'string'
  );
}
