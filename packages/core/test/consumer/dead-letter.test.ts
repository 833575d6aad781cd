import { describe, expect, it } from 'vitest';
import { InMemoryDeadLetterStore, NonRetryableError, deadLetter } from '../../src/index.js';
import { ScheduledRetry } from '../../src/consumer/scheduled-retry.js';
import { context, event } from './fixtures.js';

describe('dead-letter middleware', () => {
  it('stores the whole event with code, message, stack, attempts, first and last failure, origin', async () => {
    const store = new InMemoryDeadLetterStore();
    const e = event('order-1', { amount: 5 });
    const boom = new Error('database on fire');
    const mw = deadLetter(store);
    // Attempts 1 and 2 were retried: the middleware noted them on the way out.
    for (const attempt of [1, 2]) {
      await expect(
        mw(async () => Promise.reject(new ScheduledRetry(10, boom)))(e, context(e, attempt)),
      ).rejects.toBeInstanceOf(ScheduledRetry);
    }
    await mw(async () => Promise.reject(boom))(e, context(e, 3));
    const [entry] = await store.list();
    expect(entry).toMatchObject({
      handler: 'h',
      group: 'svc.h',
      origin: 'svc.h-queue',
      reason: 'exhausted',
      event: e,
      attempts: 3,
      error: {
        code: 'HANDLER_FAILED',
        message: 'database on fire',
        stack: boom.stack,
        details: { handler: 'h', eventId: e.id },
      },
    });
    expect(Date.parse(entry!.firstFailedAt)).toBeLessThanOrEqual(Date.parse(entry!.lastFailedAt));
    expect(await store.count()).toBe(1);
  });

  it('marks a NonRetryableError as non_retryable with its own code', async () => {
    const store = new InMemoryDeadLetterStore();
    const e = event('order-2');
    await deadLetter(store)(async () =>
      Promise.reject(new NonRetryableError('no such member', { memberId: 'm-9' })),
    )(e, context(e, 1));
    expect(
      (await store.list()).map((d) => [d.reason, d.error.code, d.error.details, d.attempts]),
    ).toEqual([['non_retryable', 'NON_RETRYABLE', { memberId: 'm-9' }, 1]]);
  });

  it('stores nothing when the handler succeeds', async () => {
    const store = new InMemoryDeadLetterStore();
    const e = event('order-3');
    await deadLetter(store)(async () => undefined)(e, context(e, 1));
    expect(await store.count()).toBe(0);
  });

  it('never dead-letters a handled event because its own bookkeeping failed', async () => {
    const store = new InMemoryDeadLetterStore();
    store.clearFailures = async () => Promise.reject(new Error('database is locked'));
    const e = event('order-4');
    await expect(deadLetter(store)(async () => undefined)(e, context(e, 2))).rejects.toThrow(
      'database is locked',
    );
    expect(await store.count()).toBe(0);
  });
});
