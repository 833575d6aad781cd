import type { EventStore, EventStoreCommonOptions } from '@eventfabric/core';

/**
 * Store options the suite needs to vary between tests. A factory must pass every one of them
 * through to the store it creates; anything it leaves unset keeps the store's default.
 */
export type EventStoreFactoryOptions = Pick<
  EventStoreCommonOptions,
  'snapshotEvery' | 'schemas' | 'allowForeignTypes'
>;

/**
 * What a backend can do beyond the contract's core. A backend declares what it has instead
 * of skipping tests; the tests of an undeclared feature are listed as skipped, with the
 * feature named as the reason.
 */
export interface EventStoreFeatures {
  /**
   * Events, snapshots and idempotency records survive `close()` and a new handle opened on
   * the same storage by `reopen`. Every durable backend must declare it. Requires `reopen`.
   * @defaultValue false
   */
  durableAcrossReopen: boolean;
  /**
   * Several handles on one storage (as separate processes hold) may append and subscribe at
   * once: expected-version checks and deduplication hold across handles, and a subscriber on
   * one handle wakes up for appends made through another. Requires `reopen`.
   * @defaultValue false
   */
  multiProcess: boolean;
}

/** Tests a backend cannot pass yet, named exactly as the suite names them, and why. */
export interface SkippedTests {
  /** Shown in the skipped test's title. */
  reason: string;
  /** Test names, without the `describe` path. */
  tests: string[];
}

/** Options for {@link describeEventStoreConformance}. */
export interface EventStoreConformanceOptions {
  /**
   * Create a fresh, empty store, isolated from every other store the factory created. Called
   * once or more per test; the suite closes each store when its test ends.
   */
  create: (options?: EventStoreFactoryOptions) => Promise<EventStore> | EventStore;
  /**
   * Open another handle on the storage behind `store`, with the options `store` was created
   * with. `store` may be open (a second handle, as another process would have) or closed (a
   * restart). Needed by the `durableAcrossReopen` and `multiProcess` features.
   * @defaultValue none: those features' tests are skipped
   */
  reopen?: (store: EventStore) => Promise<EventStore> | EventStore;
  /** @defaultValue every feature `false` */
  features?: Partial<EventStoreFeatures>;
  /**
   * Tests to skip by name, each group with its reason. A name that matches no test fails
   * the suite, so a renamed test cannot be skipped by accident.
   * @defaultValue none
   */
  skip?: SkippedTests[];
}
