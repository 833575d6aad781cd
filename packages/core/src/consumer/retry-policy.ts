import { InvalidArgumentError } from '../errors/index.js';

/** How often and how soon a failed handling is tried again. */
export interface RetryPolicy {
  /**
   * Deliveries in all, the first included. A crash during handling uses one too.
   * @defaultValue 5
   */
  maxAttempts: number;
  /** Delay before the second attempt. @defaultValue 100 */
  initialDelayMs: number;
  /** @defaultValue 2 */
  multiplier: number;
  /** Cap on any one delay. @defaultValue 30 000 */
  maxDelayMs: number;
  /**
   * Spread each delay uniformly over ±this fraction, so failures that happened together
   * do not retry together. @defaultValue 0.2
   */
  jitter: number;
}

export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  maxAttempts: 5,
  initialDelayMs: 100,
  multiplier: 2,
  maxDelayMs: 30_000,
  jitter: 0.2,
});

/** Merge a partial policy over a base, rejecting nonsense. */
export function resolveRetryPolicy(
  policy: Partial<RetryPolicy> | undefined,
  base: RetryPolicy = DEFAULT_RETRY_POLICY,
): RetryPolicy {
  const resolved = { ...base, ...policy };
  const { maxAttempts, initialDelayMs, multiplier, maxDelayMs, jitter } = resolved;
  const bad =
    (!Number.isSafeInteger(maxAttempts) || maxAttempts < 1 ? 'maxAttempts' : undefined) ??
    (!(initialDelayMs >= 0) ? 'initialDelayMs' : undefined) ??
    (!(multiplier >= 1) ? 'multiplier' : undefined) ??
    (!(maxDelayMs >= initialDelayMs) ? 'maxDelayMs' : undefined) ??
    (!(jitter >= 0 && jitter <= 1) ? 'jitter' : undefined);
  if (bad) throw new InvalidArgumentError(`retry.${bad} is out of range`, { [bad]: resolved[bad] });
  return resolved;
}

/** The delay before attempt `attempt + 1`, after `attempt` failed (attempt counts from 1). */
export function backoffDelay(
  policy: RetryPolicy,
  attempt: number,
  random: () => number = Math.random,
): number {
  const exponential = policy.initialDelayMs * policy.multiplier ** (attempt - 1);
  const capped = Math.min(policy.maxDelayMs, exponential);
  const spread = capped * policy.jitter * (2 * random() - 1);
  return Math.max(0, Math.round(Math.min(policy.maxDelayMs, capped + spread)));
}
