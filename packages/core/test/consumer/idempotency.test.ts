import { describe, expect, it } from 'vitest';
import {
  InMemoryIdempotencyKeyStore,
  InMemoryProcessedEvents,
  idempotency,
} from '../../src/index.js';
import { context, event } from './fixtures.js';

describe('idempotency middleware', () => {
  it('runs a handler once per (handler, event id), also for concurrent redeliveries', async () => {
    const processed = new InMemoryProcessedEvents();
    const calls: string[] = [];
    const mw = idempotency(
      processed,
      false,
    )(async (e) => {
      await new Promise((r) => setTimeout(r, 5));
      calls.push(e.id);
    });
    const a = event('order-1');
    const b = event('order-2');
    await Promise.all([mw(a, context(a)), mw(a, context(a)), mw(b, context(b))]);
    await mw(a, context(a));
    expect(calls.sort()).toEqual([a.id, b.id].sort());
    expect(await processed.has('h', a.id)).toBe(true);
    expect(await processed.has('other', a.id)).toBe(false);
  });

  it('records nothing when the handler fails, so the retry runs it again', async () => {
    const processed = new InMemoryProcessedEvents();
    const e = event('order-1');
    await expect(
      idempotency(processed, false)(async () => Promise.reject(new Error('x')))(e, context(e)),
    ).rejects.toThrow('x');
    expect(await processed.has('h', e.id)).toBe(false);
  });

  it('keeps side-effect keys for their TTL', async () => {
    let now = 1000;
    const keys = new InMemoryIdempotencyKeyStore(() => now);
    await keys.put('email:welcome:m-1', 500);
    expect(await keys.has('email:welcome:m-1')).toBe(true);
    now = 1499;
    expect(await keys.has('email:welcome:m-1')).toBe(true);
    now = 1500;
    expect(await keys.has('email:welcome:m-1')).toBe(false);
  });
});
