import { describe, expect, it } from 'vitest';
import { createEvent, type DeadLetter, type DeadLetterStore } from '@eventfabric/core';

/** Options for {@link describeDeadLetterStoreConformance}. */
export interface DeadLetterStoreConformanceOptions {
  /** A fresh, empty store per call. */
  create: () => Promise<DeadLetterStore> | DeadLetterStore;
}

function entry(
  handler: string,
  n: number,
  reason: DeadLetter['reason'] = 'exhausted',
): Omit<DeadLetter, 'id' | 'deadLetteredAt'> {
  return {
    handler,
    group: `svc.${handler}`,
    origin: `svc.${handler}`,
    reason,
    event: createEvent({
      type: `test.item.failed.v${n % 2 === 0 ? 1 : 2}`,
      source: '/t',
      subject: `item-${n}`,
      data: { n },
    }),
    error: {
      code: 'HANDLER_FAILED',
      message: `boom ${n}`,
      stack: 'Error: boom\n    at x',
      details: { n },
    },
    attempts: 5,
    firstFailedAt: '2026-11-23T10:00:00.000Z',
    lastFailedAt: '2026-11-23T10:00:05.000Z',
  };
}

/** The suite every {@link DeadLetterStore} passes. */
export function describeDeadLetterStoreConformance(
  name: string,
  options: DeadLetterStoreConformanceOptions,
): void {
  describe(`${name} dead-letter store conformance`, () => {
    it('keeps the whole entry and lists in the order added', async () => {
      const store = await options.create();
      const inputs = Array.from({ length: 5 }, (_, n) => entry(n < 3 ? 'a' : 'b', n));
      const added: DeadLetter[] = [];
      for (const input of inputs) added.push(await store.add(input));
      expect(await store.list()).toEqual(added);
      expect(await store.get(added[2]!.id)).toEqual(added[2]);
      expect(added.map(({ id: _id, deadLetteredAt: _at, ...rest }) => rest)).toEqual(inputs);
      expect(Date.parse(added[0]!.deadLetteredAt)).not.toBeNaN();
    });

    it('filters by handler, type, reason and ids, and counts', async () => {
      const store = await options.create();
      const a0 = await store.add(entry('a', 0));
      const a1 = await store.add(entry('a', 1, 'poison'));
      const b2 = await store.add(entry('b', 2, 'non_retryable'));
      expect((await store.list({ handler: 'a' })).map((d) => d.id)).toEqual([a0.id, a1.id]);
      expect((await store.list({ type: 'test.item.failed.v1' })).map((d) => d.id)).toEqual([
        a0.id,
        b2.id,
      ]);
      expect((await store.list({ reason: 'poison' })).map((d) => d.id)).toEqual([a1.id]);
      expect((await store.list({ ids: [b2.id, a0.id] })).map((d) => d.id)).toEqual([a0.id, b2.id]);
      expect((await store.list({ limit: 1 })).map((d) => d.id)).toEqual([a0.id]);
      expect(await store.count()).toBe(3);
      expect(await store.count({ handler: 'b' })).toBe(1);
    });

    it('removes by id, ignores unknown ids, and reports a missing entry with DEAD_LETTER_NOT_FOUND', async () => {
      const store = await options.create();
      const a0 = await store.add(entry('a', 0));
      const a1 = await store.add(entry('a', 1));
      expect(await store.remove([a0.id, 'no-such-id'])).toBe(1);
      expect((await store.list()).map((d) => d.id)).toEqual([a1.id]);
      await expect(store.get(a0.id)).rejects.toMatchObject({
        code: 'DEAD_LETTER_NOT_FOUND',
        details: { id: a0.id },
      });
    });

    it('keeps one dead letter per handler and event id when an event is dead-lettered again', async () => {
      // Given a dead letter, whose delivery's ack was lost: the event comes back, fails for
      // good again, and is dead-lettered a second time.
      const store = await options.create();
      const input = entry('a', 0);
      const first = await store.add(input);
      const other = await store.add({ ...input, handler: 'b', group: 'svc.b', origin: 'svc.b' });

      await store.add({ ...input, attempts: 6, lastFailedAt: '2026-11-23T10:00:09.000Z' });

      // Then the first is kept as it was; another handler's dead letter of the event is its own.
      expect(await store.list()).toEqual([first, other]);
      expect(await store.count()).toBe(2);
      expect(await store.count({ handler: 'a' })).toBe(1);
      // And removing it leaves no copy behind.
      expect(await store.remove([first.id])).toBe(1);
      expect(await store.list()).toEqual([other]);
      await expect(store.get(first.id)).rejects.toMatchObject({ code: 'DEAD_LETTER_NOT_FOUND' });
    });

    it('remembers the first failure across notes until cleared', async () => {
      const store = await options.create();
      const first = await store.noteFailure('a', 'evt-1', new Date('2026-11-23T10:00:00Z'));
      const second = await store.noteFailure('a', 'evt-1', new Date('2026-11-23T10:00:09Z'));
      expect([first, second]).toEqual([
        { firstFailedAt: '2026-11-23T10:00:00.000Z', failures: 1 },
        { firstFailedAt: '2026-11-23T10:00:00.000Z', failures: 2 },
      ]);
      expect(await store.noteFailure('b', 'evt-1', new Date('2026-11-23T11:00:00Z'))).toEqual({
        firstFailedAt: '2026-11-23T11:00:00.000Z',
        failures: 1,
      });
      await store.clearFailures('a', 'evt-1');
      expect(
        (await store.noteFailure('a', 'evt-1', new Date('2026-11-23T12:00:00Z'))).failures,
      ).toBe(1);
    });
  });
}
