import { describe, expect, it } from 'vitest';
import type { RelayCheckpointStore } from '@eventfabric/core';

/** Options for {@link describeRelayCheckpointStoreConformance}. */
export interface RelayCheckpointStoreConformanceOptions {
  /** A fresh, empty store per call. */
  create: () => Promise<RelayCheckpointStore> | RelayCheckpointStore;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The suite every {@link RelayCheckpointStore} passes. */
export function describeRelayCheckpointStoreConformance(
  name: string,
  options: RelayCheckpointStoreConformanceOptions,
): void {
  describe(`relay checkpoint store conformance: ${name}`, () => {
    it('leases a new relay to its first owner, at the start of the log', async () => {
      const store = await options.create();
      expect(await store.acquire('orders', 'a', 10_000)).toEqual({
        held: true,
        position: undefined,
      });
    });

    it('keeps the checkpoint an owner advanced, and hands it to that owner again', async () => {
      const store = await options.create();
      await store.acquire('orders', 'a', 10_000);
      expect(await store.advance('orders', 'a', '41', 10_000)).toBe(true);
      expect(await store.advance('orders', 'a', undefined, 10_000)).toBe(true);
      expect(await store.acquire('orders', 'a', 10_000)).toEqual({ held: true, position: '41' });
    });

    it('refuses the lease to a second owner while the first holds it, and its advance changes nothing', async () => {
      const store = await options.create();
      await store.acquire('orders', 'a', 10_000);
      await store.advance('orders', 'a', '7', 10_000);
      expect(await store.acquire('orders', 'b', 10_000)).toEqual({ held: false });
      expect(await store.advance('orders', 'b', '99', 10_000)).toBe(false);
      expect(await store.acquire('orders', 'a', 10_000)).toEqual({ held: true, position: '7' });
    });

    it('gives an expired lease to another owner, with the checkpoint, and fences the old owner out', async () => {
      const store = await options.create();
      await store.acquire('orders', 'a', 40);
      await store.advance('orders', 'a', '12', 40);
      await sleep(120);
      expect(await store.acquire('orders', 'b', 10_000)).toEqual({ held: true, position: '12' });
      expect(await store.advance('orders', 'a', '13', 10_000)).toBe(false);
      expect(await store.acquire('orders', 'a', 10_000)).toEqual({ held: false });
      expect(await store.acquire('orders', 'b', 10_000)).toEqual({ held: true, position: '12' });
    });

    it('lets another owner in at once after a release, keeping the checkpoint', async () => {
      const store = await options.create();
      await store.acquire('orders', 'a', 10_000);
      await store.advance('orders', 'a', '5', 10_000);
      await store.release('orders', 'a');
      expect(await store.advance('orders', 'a', '6', 10_000)).toBe(false);
      expect(await store.acquire('orders', 'b', 10_000)).toEqual({ held: true, position: '5' });
    });

    it('ignores a release by an owner that does not hold the lease', async () => {
      const store = await options.create();
      await store.acquire('orders', 'a', 10_000);
      await store.release('orders', 'b');
      expect(await store.acquire('orders', 'b', 10_000)).toEqual({ held: false });
    });

    it('keeps relays apart by name', async () => {
      const store = await options.create();
      await store.acquire('orders', 'a', 10_000);
      await store.advance('orders', 'a', '3', 10_000);
      expect(await store.acquire('billing', 'b', 10_000)).toEqual({
        held: true,
        position: undefined,
      });
      expect(await store.advance('billing', 'b', '8', 10_000)).toBe(true);
      expect(await store.acquire('orders', 'a', 10_000)).toEqual({ held: true, position: '3' });
    });
  });
}
