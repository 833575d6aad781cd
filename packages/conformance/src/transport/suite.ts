import type { Transport } from '@eventfabric/core';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type {
  TransportConformanceOptions,
  TransportFactoryOptions,
  TransportFeatures,
  TransportTestBroker,
} from './options.js';

/** The name of a feature a test can need. */
export type TransportFeature = keyof TransportFeatures;

/** Options for {@link TransportSuite.test}. */
export interface TransportTestOptions {
  /** Features the test needs; without them it is skipped, naming the missing ones. */
  needs?: TransportFeature | readonly TransportFeature[];
  /** @defaultValue vitest's configured test timeout */
  timeoutMs?: number;
}

/** What each concern's test file gets from {@link describeTransportConformance}. */
export interface TransportSuite {
  readonly features: Readonly<TransportFeatures>;
  /**
   * Define a test. It is skipped, by name and with its reason in the title, when the skip
   * list names it or when it needs a feature the transport does not declare.
   */
  test(name: string, body: () => Promise<void>, options?: TransportTestOptions): void;
  /** A new connection to this test's broker, closed when the test ends. */
  connect(options?: Partial<TransportFactoryOptions>): Promise<Transport>;
  /** Define the test that fails when the skip list names a test the suite does not have. */
  testSkipList(): void;
}

/** Long enough for any handler of the suite to finish; tests that crash a member pass less. */
export const DEFAULT_DRAIN_TIMEOUT_MS = 2000;

const NO_FEATURES: TransportFeatures = {
  persistent: false,
  guaranteedOrder: false,
  nackDelay: false,
  deliveryCountAcrossCrashes: false,
  stress: false,
  restartBroker: undefined,
};

/**
 * Build the harness. Must be called inside a `describe` block: it registers the hooks that
 * set up each test's broker and close every connection the test opened.
 */
export function createTransportSuite(options: TransportConformanceOptions): TransportSuite {
  const features: TransportFeatures = { ...NO_FEATURES, ...options.features };
  const skipped = new Map<string, string>();
  for (const group of options.skip ?? []) {
    for (const name of group.tests) skipped.set(name, group.reason);
  }
  const names = new Set<string>();
  let broker: TransportTestBroker | undefined;
  const opened: Transport[] = [];

  beforeEach(async () => {
    broker = await options.setup();
  });

  afterEach(async () => {
    // `close()` is idempotent by contract, so connections a test closed are closed again.
    const closing = await Promise.allSettled(opened.splice(0).map((t) => t.close()));
    const current = broker;
    broker = undefined;
    await current?.teardown?.();
    const failed = closing.find((outcome) => outcome.status === 'rejected');
    if (failed) throw failed.reason;
  });

  return {
    features,

    test(name, body, testOptions = {}) {
      if (names.has(name)) throw new Error(`conformance test "${name}" is defined twice`);
      names.add(name);
      const needs = [testOptions.needs ?? []].flat();
      const missing = needs.filter((feature) => !features[feature]);
      const reason =
        skipped.get(name) ??
        (missing.length > 0 ? `transport lacks ${missing.join(' and ')}` : undefined);
      if (reason === undefined) it(name, body, testOptions.timeoutMs);
      else it.skip(`${name} (skipped: ${reason})`, body);
    },

    async connect(connectOptions = {}) {
      if (!broker) throw new Error('connect() is only available while a test runs');
      const transport = await broker.create({
        drainTimeoutMs: DEFAULT_DRAIN_TIMEOUT_MS,
        ...connectOptions,
      });
      opened.push(transport);
      return transport;
    },

    testSkipList() {
      it('the skip list names only tests of this suite', () => {
        const unknown = [...skipped.keys()].filter((name) => !names.has(name));
        expect(unknown).toEqual([]);
      });
    },
  };
}
