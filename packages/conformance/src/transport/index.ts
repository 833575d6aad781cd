import { describe } from 'vitest';
import { describeBadInput } from './bad-input.js';
import { describeClose } from './close.js';
import { describeGroups } from './groups.js';
import { describeLimits } from './limits.js';
import type { TransportConformanceOptions } from './options.js';
import { describeOrdering } from './ordering.js';
import { describePublishSubscribe } from './publish-subscribe.js';
import { describeReconnect } from './reconnect.js';
import { describeRedelivery } from './redelivery.js';
import { describeStress } from './stress.js';
import { createTransportSuite } from './suite.js';

export type {
  TransportConformanceOptions,
  TransportFactoryOptions,
  TransportFeatures,
  TransportTestBroker,
} from './options.js';

/**
 * Define the transport conformance suite as vitest `describe`/`it` blocks, for the transport
 * the options connect to. Every transport must pass it: call it at the top level of a test
 * file. Each test opens several connections to one broker, as several processes would, and
 * uses its own event types and group names, so a real broker can be shared by every test.
 *
 * @example
 * describeTransportConformance('in-memory', {
 *   setup: () => {
 *     const broker = new InMemoryBroker();
 *     return { create: (options) => createInMemoryTransport({ broker, ...options }) };
 *   },
 *   features: { persistent: true, guaranteedOrder: true, nackDelay: true, stress: true },
 * });
 */
export function describeTransportConformance(
  name: string,
  options: TransportConformanceOptions,
): void {
  describe(`transport conformance: ${name}`, () => {
    const suite = createTransportSuite(options);
    describePublishSubscribe(suite);
    describeRedelivery(suite);
    describeOrdering(suite);
    describeGroups(suite);
    describeClose(suite);
    describeLimits(suite);
    describeBadInput(suite);
    describeReconnect(suite);
    describeStress(suite);
    suite.testSkipList();
  });
}
