import { describe, expect, it } from 'vitest';
import type { IdempotencyKeyStore, ProcessedEvents } from '@eventfabric/core';

/** Options for {@link describeProcessedEventsConformance}. */
export interface ProcessedEventsConformanceOptions {
  create: () => Promise<ProcessedEvents> | ProcessedEvents;
  createKeys: () => Promise<IdempotencyKeyStore> | IdempotencyKeyStore;
}

/** The suite every {@link ProcessedEvents} and {@link IdempotencyKeyStore} passes. */
export function describeProcessedEventsConformance(
  name: string,
  options: ProcessedEventsConformanceOptions,
): void {
  describe(`${name} idempotency conformance`, () => {
    it('runs an effect once per (handler, event id)', async () => {
      const processed = await options.create();
      const runs: string[] = [];
      const effect = (label: string) => async () => void runs.push(label);
      expect(await processed.once('h1', 'e1', effect('h1/e1'))).toBe(true);
      expect(await processed.once('h1', 'e1', effect('again'))).toBe(false);
      expect(await processed.once('h2', 'e1', effect('h2/e1'))).toBe(true);
      expect(await processed.once('h1', 'e2', effect('h1/e2'), { transactional: true })).toBe(true);
      expect(await processed.once('h1', 'e2', effect('again'), { transactional: true })).toBe(
        false,
      );
      expect(runs).toEqual(['h1/e1', 'h2/e1', 'h1/e2']);
      expect([await processed.has('h1', 'e1'), await processed.has('h1', 'e9')]).toEqual([
        true,
        false,
      ]);
    });

    it('records nothing when the effect fails', async () => {
      const processed = await options.create();
      for (const transactional of [false, true]) {
        const id = `fails-${transactional}`;
        await expect(
          processed.once('h', id, async () => Promise.reject(new Error('no')), { transactional }),
        ).rejects.toThrow('no');
        expect(await processed.has('h', id)).toBe(false);
      }
    });

    it('keeps keys until their TTL passes', async () => {
      const keys = await options.createKeys();
      await keys.put('k1', 60_000);
      await keys.put('k2', 1);
      await new Promise((r) => setTimeout(r, 5));
      expect([await keys.has('k1'), await keys.has('k2'), await keys.has('k3')]).toEqual([
        true,
        false,
        false,
      ]);
    });
  });
}
