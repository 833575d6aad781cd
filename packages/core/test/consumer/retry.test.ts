import { describe, expect, it } from 'vitest';
import {
  DEFAULT_RETRY_POLICY,
  NonRetryableError,
  RetryLaterError,
  backoffDelay,
  resolveRetryPolicy,
  retry,
} from '../../src/index.js';
import { ScheduledRetry } from '../../src/consumer/scheduled-retry.js';
import { context, event } from './fixtures.js';

const failing = (error: unknown) => async () => {
  throw error;
};

async function outcome(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => 'ok',
    (e: unknown) => e,
  );
}

describe('retry middleware', () => {
  const policy = resolveRetryPolicy({ jitter: 0 });
  const e = event('order-1');

  it('schedules attempts 1..4 with exponential backoff, and lets the 5th failure through', async () => {
    const delays: number[] = [];
    for (let attempt = 1; attempt <= 4; attempt++) {
      const result = await outcome(
        retry(policy)(failing(new Error('boom')))(e, context(e, attempt)),
      );
      expect(result).toBeInstanceOf(ScheduledRetry);
      delays.push((result as ScheduledRetry).delayMs);
    }
    expect(delays).toEqual([100, 200, 400, 800]);
    const last = await outcome(retry(policy)(failing(new Error('boom')))(e, context(e, 5)));
    expect((last as Error).message).toBe('boom');
  });

  it('sends NonRetryableError through at once and honours RetryLaterError within the cap', async () => {
    const stop = new NonRetryableError('bad payload');
    expect(await outcome(retry(policy)(failing(stop))(e, context(e, 1)))).toBe(stop);
    const later = (await outcome(
      retry(policy)(failing(new RetryLaterError(1234)))(e, context(e, 2)),
    )) as ScheduledRetry;
    expect(later.delayMs).toBe(1234);
    const capped = (await outcome(
      retry(policy)(failing(new RetryLaterError(99_000_000)))(e, context(e, 2)),
    )) as ScheduledRetry;
    expect(capped.delayMs).toBe(30_000);
  });

  it('passes success through untouched', async () => {
    expect(await outcome(retry(policy)(async () => undefined)(e, context(e, 1)))).toBe('ok');
  });

  it('computes backoff with jitter bounds and a cap', () => {
    expect(backoffDelay(DEFAULT_RETRY_POLICY, 1, () => 0)).toBe(80);
    expect(backoffDelay(DEFAULT_RETRY_POLICY, 1, () => 1)).toBe(120);
    expect(backoffDelay(DEFAULT_RETRY_POLICY, 20, () => 1)).toBe(30_000);
    expect(() => resolveRetryPolicy({ maxAttempts: 0 })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(() => resolveRetryPolicy({ jitter: 2 })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });
});
