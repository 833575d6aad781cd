import { InvalidArgumentError } from '../errors/index.js';

/** `<service>.<handler-group>`, lower-case dotted, as queues and durable consumers are named. */
export const GROUP_PATTERN = /^[a-z][a-z0-9_-]*(\.[a-z0-9][a-z0-9_-]*)+$/;

/** @throws InvalidArgumentError unless `group` follows the naming rule. */
export function assertGroupName(group: unknown): asserts group is string {
  if (typeof group !== 'string' || group.length > 200 || !GROUP_PATTERN.test(group)) {
    throw new InvalidArgumentError(
      'a consumer group is named <service>.<handler-group>, lower-case dotted',
      {
        group: group as never,
      },
    );
  }
}

/** @throws InvalidArgumentError unless prefetch and concurrency are positive integers. */
export function resolveSubscribeLimits(options: { prefetch?: number; concurrency?: number }): {
  prefetch: number;
  concurrency: number;
} {
  const prefetch = options.prefetch ?? 100;
  const concurrency = options.concurrency ?? 1;
  for (const [name, value] of Object.entries({ prefetch, concurrency })) {
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new InvalidArgumentError(`${name} must be a positive integer`, { [name]: value });
    }
  }
  return { prefetch, concurrency: Math.min(concurrency, prefetch) };
}
