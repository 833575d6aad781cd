import { describe, expect, it } from 'vitest';
import { tracing } from '../../src/index.js';
import { ScheduledRetry } from '../../src/consumer/scheduled-retry.js';
import { context, event } from './fixtures.js';

describe('tracing middleware', () => {
  it('continues the event’s trace with a new span id, and follow-ups carry it', async () => {
    const e = {
      ...event('order-1'),
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    };
    const seen: string[] = [];
    const ctx = context(e);
    await tracing()(async (_event, c) => {
      seen.push(
        c.traceparent,
        c.createEvent({ type: 'test.thing.followed.v1', subject: 'order-1', data: {} }).traceparent,
      );
    })(e, ctx);
    const [handling, followUp] = seen as [string, string];
    expect(handling).toMatch(/^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
    expect(handling).not.toBe(e.traceparent);
    expect(followUp.slice(0, 36)).toBe('00-4bf92f3577b34da6a3ce929d0e0e4736-');
    expect(followUp).not.toBe(handling);
  });

  it('starts a new root trace for an event with a malformed traceparent, and passes errors through', async () => {
    const e = { ...event('order-2'), traceparent: 'garbage' };
    let traceparent = '';
    await tracing()(async (_event, c) => void (traceparent = c.traceparent))(e, context(e));
    expect(traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    const retry = new ScheduledRetry(10, new Error('x'));
    await expect(tracing()(async () => Promise.reject(retry))(e, context(e))).rejects.toBe(retry);
  });
});
