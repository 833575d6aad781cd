import { describe, expect, it } from 'vitest';
import {
  CatchUpSubscription,
  StoreUnavailableError,
  createEvent,
  createInMemoryEventStore,
  type StoredEvent,
} from '../src/index.js';

describe('CatchUpSubscription with a retry hook', () => {
  it('waits out retryable read failures and resumes from the same cursor, with nothing skipped or repeated', async () => {
    const store = createInMemoryEventStore();
    for (let i = 0; i < 5; i++) {
      await store.appendToStream(`s-${i}`, [
        createEvent({
          type: 'test.thing.happened.v1',
          source: '/t',
          subject: `s-${i}`,
          data: { i },
        }),
      ]);
    }
    let failures = 0;
    const attempts: number[] = [];
    const seen: string[] = [];
    const subscription = new CatchUpSubscription(
      {
        readAll: async (options) => {
          // The second page read fails twice, as a server restart would.
          if (options.after === '2' && failures < 2) {
            failures++;
            throw new StoreUnavailableError('connection refused', { retryable: true });
          }
          return store.readAll(options);
        },
        onAppend: () => () => undefined,
        retryDelayMs: (error, attempt) => {
          attempts.push(attempt);
          return (error as StoreUnavailableError).details.retryable ? 5 : undefined;
        },
      },
      { batchSize: 2, handler: (e: StoredEvent) => void seen.push(e.position) },
    );
    const deadline = Date.now() + 2000;
    while (seen.length < 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    await subscription.stop();
    expect(seen).toEqual(['1', '2', '3', '4', '5']);
    expect(failures).toBe(2);
    expect(attempts.length).toBe(2);
  });

  it('fails the subscription when the hook declines to retry', async () => {
    const subscription = new CatchUpSubscription(
      {
        readAll: async () => Promise.reject(new Error('syntax error')),
        onAppend: () => () => undefined,
        retryDelayMs: () => undefined,
      },
      { handler: () => undefined },
    );
    await expect(subscription.done).rejects.toMatchObject({ code: 'SUBSCRIPTION_FAILED' });
  });
});
