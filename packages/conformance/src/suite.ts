import type { EventStore } from '@eventfabric/core';
import { afterEach, expect, it } from 'vitest';
import type {
  EventStoreConformanceOptions,
  EventStoreFactoryOptions,
  EventStoreFeatures,
} from './options.js';

/** What each concern's test file gets from {@link describeEventStoreConformance}. */
export interface ConformanceSuite {
  readonly features: Readonly<EventStoreFeatures>;
  /**
   * Define a test. It is skipped, by name and with its reason in the title, when the skip
   * list names it or when it needs a feature the backend does not declare.
   */
  test(name: string, body: () => Promise<void>, needs?: keyof EventStoreFeatures): void;
  /** A fresh, empty store, closed when the test ends. */
  open(options?: EventStoreFactoryOptions): Promise<EventStore>;
  /** Another handle on `store`'s storage, closed when the test ends. */
  reopen(store: EventStore): Promise<EventStore>;
  /** Define the test that fails when the skip list names a test the suite does not have. */
  testSkipList(): void;
}

const NO_FEATURES: EventStoreFeatures = { durableAcrossReopen: false, multiProcess: false };

/**
 * Build the harness. Must be called inside a `describe` block: it registers the `afterEach`
 * that closes every store a test opened.
 */
export function createConformanceSuite(options: EventStoreConformanceOptions): ConformanceSuite {
  const features: EventStoreFeatures = { ...NO_FEATURES, ...options.features };
  for (const feature of ['durableAcrossReopen', 'multiProcess'] as const) {
    if (features[feature] && !options.reopen) {
      throw new Error(`features.${feature} needs a reopen() function in the conformance options`);
    }
  }
  const skipped = new Map<string, string>();
  for (const group of options.skip ?? []) {
    for (const name of group.tests) skipped.set(name, group.reason);
  }
  const names = new Set<string>();
  const opened: EventStore[] = [];

  afterEach(async () => {
    // `close()` is idempotent by contract, so stores a test closed itself are closed again.
    await Promise.all(opened.splice(0).map((store) => store.close()));
  });

  return {
    features,

    test(name, body, needs) {
      if (names.has(name)) throw new Error(`conformance test "${name}" is defined twice`);
      names.add(name);
      const reason =
        skipped.get(name) ??
        (needs && !features[needs] ? `feature ${needs} not declared` : undefined);
      if (reason === undefined) it(name, body);
      else it.skip(`${name} (skipped: ${reason})`, body);
    },

    async open(storeOptions) {
      const store = await options.create(storeOptions);
      opened.push(store);
      return store;
    },

    async reopen(store) {
      if (!options.reopen) throw new Error('the conformance options have no reopen() function');
      const again = await options.reopen(store);
      opened.push(again);
      return again;
    },

    testSkipList() {
      it('the skip list names only tests of this suite', () => {
        const unknown = [...skipped.keys()].filter((name) => !names.has(name));
        expect(unknown).toEqual([]);
      });
    },
  };
}
