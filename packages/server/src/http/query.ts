import { InvalidArgumentError, parsePosition } from '@eventfabric/core';

/** A parsed query string: Fastify gives a string, or an array for a repeated key. */
export type Query = Record<string, string | string[] | undefined>;

/** Reject keys a route does not know, so a misspelt filter never silently filters nothing. */
export function assertKnownParams(query: Query, known: readonly string[]): void {
  for (const key of Object.keys(query)) {
    if (!known.includes(key)) {
      throw new InvalidArgumentError(
        `unknown query parameter "${key}"; this route takes ${known.join(', ')}`,
        { parameter: key, known: [...known] },
      );
    }
  }
}

/** One value; a repeated key is an error. */
export function single(query: Query, name: string): string | undefined {
  const value = query[name];
  if (Array.isArray(value)) {
    throw new InvalidArgumentError(`query parameter ${name} is given more than once`, {
      parameter: name,
    });
  }
  if (value === '') {
    throw new InvalidArgumentError(`query parameter ${name} is empty`, { parameter: name });
  }
  return value;
}

/** Every value of a repeatable key, each also split on commas. */
export function list(query: Query, name: string): string[] | undefined {
  const value = query[name];
  if (value === undefined) return undefined;
  const values = (Array.isArray(value) ? value : [value]).flatMap((v) => v.split(','));
  if (values.some((v) => v.trim() === '')) {
    throw new InvalidArgumentError(`query parameter ${name} has an empty value`, {
      parameter: name,
    });
  }
  return values.map((v) => v.trim());
}

/** A page size: an integer from 1 to `max`. */
export function limitParam(query: Query, fallback: number, max: number): number {
  const value = single(query, 'limit');
  if (value === undefined) return Math.min(fallback, max);
  return integerParam('limit', value, 1, max);
}

/** An integer within bounds. */
export function integerParam(name: string, value: string, min: number, max: number): number {
  const n = /^-?[0-9]{1,16}$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new InvalidArgumentError(
      `query parameter ${name} must be an integer from ${min} to ${max}, got "${value}"`,
      { parameter: name, value },
    );
  }
  return n;
}

/** A global position (a decimal string), as `after` cursors and `Last-Event-ID` carry them. */
export function positionParam(name: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  parsePosition(value, name);
  return value;
}

/** An RFC 3339 time. */
export function timeParam(query: Query, name: string): number | undefined {
  const value = single(query, name);
  if (value === undefined) return undefined;
  const ms = /^\d{4}-\d{2}-\d{2}T/.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(ms)) {
    throw new InvalidArgumentError(
      `query parameter ${name} must be an RFC 3339 time, got "${value}"`,
      {
        parameter: name,
        value,
      },
    );
  }
  return ms;
}

/** `true`, `false`, or absent. */
export function booleanParam(query: Query, name: string): boolean {
  const value = single(query, name);
  if (value === undefined || value === 'false') return false;
  if (value === 'true') return true;
  throw new InvalidArgumentError(`query parameter ${name} must be true or false`, {
    parameter: name,
    value,
  });
}
