import { NonRetryableError, RetryLaterError } from '../../errors/index.js';
import type { HandleFn, Middleware } from '../handler.js';
import type { HandlingContext } from '../handling-context.js';
import { backoffDelay, type RetryPolicy } from '../retry-policy.js';
import { ScheduledRetry } from '../scheduled-retry.js';

/** Hooks the retry middleware calls, for metrics and logs. */
export interface RetryHooks {
  onRetry?(context: HandlingContext, delayMs: number, error: unknown): void;
}

/**
 * Turn a failure into a delayed redelivery while attempts remain. `NonRetryableError`
 * passes straight through; `RetryLaterError` sets its own delay (still within the attempt
 * budget). The last attempt's failure passes through to the dead-letter middleware.
 */
export function retry(
  policy: RetryPolicy,
  hooks: RetryHooks = {},
  random?: () => number,
): Middleware {
  return (next: HandleFn): HandleFn =>
    async (event, context) => {
      try {
        await next(event, context);
      } catch (error) {
        const ctx = context as HandlingContext;
        if (error instanceof NonRetryableError || ctx.attempt >= policy.maxAttempts) throw error;
        const delayMs =
          error instanceof RetryLaterError
            ? Math.min(Math.max(0, error.delayMs), policy.maxDelayMs)
            : backoffDelay(policy, ctx.attempt, random);
        hooks.onRetry?.(ctx, delayMs, error);
        throw new ScheduledRetry(delayMs, error);
      }
    };
}
