import { describe, expect, it } from 'vitest';
import { createEvent, type ScheduledMessageStore } from '@eventfabric/core';

/** Options for {@link describeScheduledMessageStoreConformance}. */
export interface ScheduledMessageStoreConformanceOptions {
  /** A fresh, empty store per call. */
  create: () => Promise<ScheduledMessageStore> | ScheduledMessageStore;
}

function reminder(n: number) {
  return createEvent({
    type: 'test.reminder.due.v1',
    source: '/t',
    subject: `reminder-${n}`,
    data: { n },
  });
}

const T0 = 1_900_000_000_000;

/** The suite every {@link ScheduledMessageStore} passes. */
export function describeScheduledMessageStoreConformance(
  name: string,
  options: ScheduledMessageStoreConformanceOptions,
): void {
  describe(`scheduled message store conformance: ${name}`, () => {
    it('hands out only due events, earliest first, each as scheduled', async () => {
      const store = await options.create();
      const [a, b, c] = [reminder(1), reminder(2), reminder(3)];
      await store.schedule(b, T0 + 200);
      await store.schedule(a, T0 + 100);
      await store.schedule(c, T0 + 900);
      expect(await store.claimDue(T0 + 50, 10, 'x', 1000)).toEqual([]);
      const due = await store.claimDue(T0 + 500, 10, 'x', 1000);
      expect(due).toEqual([
        { id: a.id, dueAt: T0 + 100, event: a, attempts: 1 },
        { id: b.id, dueAt: T0 + 200, event: b, attempts: 1 },
      ]);
      expect(await store.nextDue()).toBe(T0 + 900);
    });

    it('keeps the first schedule of an event scheduled twice', async () => {
      const store = await options.create();
      const a = reminder(1);
      await store.schedule(a, T0 + 100);
      await store.schedule(a, T0 + 5000);
      expect((await store.list(10)).map((m) => m.dueAt)).toEqual([T0 + 100]);
    });

    it('claims an event for one claimer until its lease ends, then for another', async () => {
      const store = await options.create();
      const a = reminder(1);
      await store.schedule(a, T0);
      expect((await store.claimDue(T0 + 1, 10, 'x', 1000)).map((m) => m.id)).toEqual([a.id]);
      expect(await store.claimDue(T0 + 2, 10, 'y', 1000)).toEqual([]);
      const retaken = await store.claimDue(T0 + 1002, 10, 'y', 1000);
      expect(retaken.map((m) => [m.id, m.attempts])).toEqual([[a.id, 2]]);
      // The first claimer's late completion changes nothing; the holder's removes it.
      await store.complete(a.id, 'x');
      expect((await store.list(10)).map((m) => m.id)).toEqual([a.id]);
      await store.complete(a.id, 'y');
      expect(await store.list(10)).toEqual([]);
      expect(await store.nextDue()).toBeUndefined();
    });

    it('respects the claim limit', async () => {
      const store = await options.create();
      for (let n = 0; n < 5; n++) await store.schedule(reminder(n), T0 + n);
      expect(await store.claimDue(T0 + 10, 2, 'x', 1000)).toHaveLength(2);
      expect(await store.claimDue(T0 + 10, 10, 'y', 1000)).toHaveLength(3);
    });

    it('cancels a waiting event, not an unknown one', async () => {
      const store = await options.create();
      const [a, b] = [reminder(1), reminder(2)];
      await store.schedule(a, T0);
      await store.schedule(b, T0);
      expect(await store.cancel(a.id)).toBe(true);
      expect(await store.cancel(a.id)).toBe(false);
      expect(await store.cancel('no-such-id')).toBe(false);
      expect((await store.claimDue(T0 + 1, 10, 'x', 1000)).map((m) => m.id)).toEqual([b.id]);
    });
  });
}
