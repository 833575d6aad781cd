import { InvalidArgumentError } from '../errors/index.js';
import type { ReadStreamOptions } from './event-store.js';

/** A resolved stream read: versions `from`…`to` inclusive, walked in `direction`. */
export interface StreamWindow {
  direction: 'forwards' | 'backwards';
  from: number;
  to: number;
  limit: number;
}

function version(value: unknown, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new InvalidArgumentError(`${name} must be a non-negative integer`, {
      [name]: value as never,
    });
  }
  return value;
}

/**
 * Resolve read options against a stream's last version. Forwards, `from ≤ to`; backwards,
 * `from ≥ to`. An empty window has `from > to` forwards (or `from < to` backwards).
 * @throws InvalidArgumentError for a malformed direction, version or limit
 */
export function readStreamWindow(options: ReadStreamOptions, lastVersion: number): StreamWindow {
  const direction = options.direction ?? 'forwards';
  if (direction !== 'forwards' && direction !== 'backwards') {
    throw new InvalidArgumentError('direction must be "forwards" or "backwards"', { direction });
  }
  const fromVersion = version(options.fromVersion, 'fromVersion');
  const toVersion = version(options.toVersion, 'toVersion');
  const limitValue = options.limit;
  if (limitValue !== undefined && (!Number.isSafeInteger(limitValue) || limitValue <= 0)) {
    throw new InvalidArgumentError('limit must be a positive integer', {
      limit: limitValue as never,
    });
  }
  const limit = limitValue ?? Number.MAX_SAFE_INTEGER;
  if (direction === 'forwards') {
    return {
      direction,
      from: fromVersion ?? 0,
      to: Math.min(toVersion ?? lastVersion, lastVersion),
      limit,
    };
  }
  return {
    direction,
    from: Math.min(fromVersion ?? lastVersion, lastVersion),
    to: toVersion ?? 0,
    limit,
  };
}
