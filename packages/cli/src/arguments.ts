import { InvalidArgumentError } from 'commander';
import type { ExpectedVersion } from '@eventfabric/core';

// Parsers for option values. They throw commander's InvalidArgumentError, which the CLI
// reports as a usage error (exit 2).

/** `--expected-version`: a version number, `any`, `no_stream` or `stream_exists`. */
export function parseExpectedVersion(value: string): ExpectedVersion {
  if (value === 'any' || value === 'no_stream' || value === 'stream_exists') return value;
  if (isDecimal(value)) return Number(value);
  throw new InvalidArgumentError('expected a version number, any, no_stream or stream_exists');
}

/** An integer ≥ 0, e.g. a stream version. */
export function parseNonNegativeInteger(value: string): number {
  if (isDecimal(value)) return Number(value);
  throw new InvalidArgumentError('expected an integer ≥ 0');
}

/** An integer ≥ 1, e.g. a limit or a count. */
export function parsePositiveInteger(value: string): number {
  if (isDecimal(value) && Number(value) > 0) return Number(value);
  throw new InvalidArgumentError('expected an integer ≥ 1');
}

/** A global position (a decimal string), or `start` / `end` of the log. */
export function parsePositionArgument(value: string): string {
  if (value === 'start' || value === 'end' || /^(0|[1-9][0-9]{0,18})$/.test(value)) return value;
  throw new InvalidArgumentError('expected a position (a decimal number), start or end');
}

/** Collect a repeatable option's values. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function isDecimal(value: string): boolean {
  return /^(0|[1-9][0-9]*)$/.test(value) && Number.isSafeInteger(Number(value));
}
