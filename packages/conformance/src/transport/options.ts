import type { Transport } from '@eventfabric/core';
import type { SkippedTests } from '../options.js';

/** What the suite asks of each connection it opens. A factory must pass it through. */
export interface TransportFactoryOptions {
  /**
   * How long `close()` waits for handlers still running before it abandons their deliveries
   * to the rest of the group. The suite gives a short one where a test closes a connection
   * whose handler hangs, as a crashed process would leave it.
   */
  drainTimeoutMs: number;
}

/**
 * The broker one test runs against. Every connection `create` returns talks to the same
 * broker, as several processes would: a test opens one per consumer or publisher.
 */
export interface TransportTestBroker {
  /**
   * Open a new connection. The suite closes every connection it opened when the test ends,
   * whatever the test did with it (close is idempotent by contract).
   */
  create(options: TransportFactoryOptions): Promise<Transport> | Transport;
  /**
   * Release what `setup` made, after the test's connections are closed.
   * @defaultValue nothing to release
   */
  teardown?(): Promise<void> | void;
}

/**
 * What a transport can do beyond the contract's core. A transport declares what it has; the
 * tests of an undeclared feature are listed as skipped, with the feature named as the reason.
 */
export interface TransportFeatures {
  /**
   * A group subscribing for the first time receives events published before it existed, from
   * a retained log (JetStream, the in-memory log), not only from the moment its queue was
   * declared.
   * @defaultValue false
   */
  persistent: boolean;
  /**
   * Events with one `partitionkey` are handled one at a time and in publish order, within a
   * group, whatever the concurrency and across redeliveries, nacks with a delay included.
   * @defaultValue false
   */
  guaranteedOrder: boolean;
  /**
   * `nack({ delayMs })` redelivers no sooner than `delayMs` from the nack, and not much later.
   * @defaultValue false
   */
  nackDelay: boolean;
  /**
   * `deliveryCount` keeps counting when a delivery is redelivered because the member holding
   * it went away (a durable log's counter, a quorum queue's delivery-count), rather than
   * starting again at 1 or reporting only "redelivered".
   * @defaultValue false
   */
  deliveryCountAcrossCrashes: boolean;
  /**
   * Run the stress test: two members, 2 000 events over 20 keys, random nacks. Declare it for
   * transports fast enough to finish it within 15 s.
   * @defaultValue false
   */
  stress: boolean;
  /**
   * Restart the real broker the connections talk to and resolve once it accepts connections
   * again. Declaring it runs the reconnect test: connections opened before the restart must
   * publish and deliver after it without being reopened.
   * @defaultValue undefined: the reconnect test is skipped
   */
  restartBroker: (() => Promise<void>) | undefined;
}

/** Options for {@link describeTransportConformance}. */
export interface TransportConformanceOptions {
  /**
   * Prepare the broker of one test; called before each test that runs. For an in-memory
   * transport, make a fresh broker here. A real broker may be shared by every test: each test
   * publishes to its own event types and subscribes its own groups, so tests never see each
   * other's events.
   *
   * @example
   * setup: () => {
   *   const broker = new InMemoryBroker();
   *   return { create: (options) => createInMemoryTransport({ broker, ...options }) };
   * }
   */
  setup: () => Promise<TransportTestBroker> | TransportTestBroker;
  /** @defaultValue every feature off */
  features?: Partial<TransportFeatures>;
  /**
   * Tests to skip by name, each group with its reason. A name that matches no test fails
   * the suite, so a renamed test cannot be skipped by accident.
   * @defaultValue none
   */
  skip?: SkippedTests[];
}
