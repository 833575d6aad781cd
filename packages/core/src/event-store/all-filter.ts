import { streamCategory, type CloudEvent } from '../envelope/index.js';
import { InvalidArgumentError } from '../errors/index.js';
import type { AllFilter, ReadAllOptions, ReadByCorrelationOptions } from './event-store.js';

/** True when the event passes the filter (empty lists filter nothing). */
export function matchesAllFilter(
  event: Pick<CloudEvent, 'type' | 'subject'>,
  filter: AllFilter,
): boolean {
  const { typePrefixes, categories } = filter;
  if (
    typePrefixes &&
    typePrefixes.length > 0 &&
    !typePrefixes.some((p) => event.type.startsWith(p))
  ) {
    return false;
  }
  if (categories && categories.length > 0 && !categories.includes(streamCategory(event.subject))) {
    return false;
  }
  return true;
}

/** @throws InvalidArgumentError when a position is not a non-negative decimal integer string. */
export function parsePosition(position: unknown, name = 'position'): bigint {
  if (typeof position !== 'string' || !/^(0|[1-9][0-9]{0,18})$/.test(position)) {
    throw new InvalidArgumentError(`${name} must be a non-negative decimal integer string`, {
      [name]: position as never,
    });
  }
  return BigInt(position);
}

/** @throws InvalidArgumentError unless `limit` is a positive integer. */
export function parseLimit(limit: unknown, fallback: number): number {
  if (limit === undefined) return fallback;
  if (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit <= 0) {
    throw new InvalidArgumentError('limit must be a positive integer', { limit: limit as never });
  }
  return limit;
}

/** @throws InvalidArgumentError unless the filter lists are arrays of non-empty strings. */
export function assertAllFilter(filter: AllFilter): void {
  for (const key of ['typePrefixes', 'categories'] as const) {
    const list = filter[key];
    if (list === undefined) continue;
    if (!Array.isArray(list) || list.some((v) => typeof v !== 'string' || v.length === 0)) {
      throw new InvalidArgumentError(`${key} must be an array of non-empty strings`, {
        [key]: list,
      });
    }
  }
}

/**
 * The cursor and page size of a `$all` read, with its filter checked.
 * @throws InvalidArgumentError for a malformed position, limit or filter
 */
export function resolveReadAll(options: ReadAllOptions): { after: bigint; limit: number } {
  const after = options.after === undefined ? 0n : parsePosition(options.after, 'after');
  const limit = parseLimit(options.limit, 1000);
  assertAllFilter(options);
  return { after, limit };
}

/**
 * The cursor and page size of a read by correlation id, with the id checked.
 * @throws InvalidArgumentError for an empty id, a malformed position or limit
 */
export function resolveCorrelationRead(
  correlationId: unknown,
  options: ReadByCorrelationOptions,
): { after: bigint; limit: number } {
  if (typeof correlationId !== 'string' || correlationId === '') {
    throw new InvalidArgumentError('correlation id must be a non-empty string');
  }
  const after = options.after === undefined ? 0n : parsePosition(options.after, 'after');
  return { after, limit: parseLimit(options.limit, 1000) };
}
