import { describe } from 'vitest';
import { describeAggregate } from './aggregate.js';
import { describeAppend } from './append.js';
import { describeBadInput } from './bad-input.js';
import { describeBadReadInput } from './bad-read-input.js';
import { describeCorrelation } from './correlation.js';
import { describeDurability } from './durability.js';
import { describeExpectedVersion } from './expected-version.js';
import { describeIdempotentAppend } from './idempotent-append.js';
import { describeMultiProcess } from './multi-process.js';
import type { EventStoreConformanceOptions } from './options.js';
import { describeProperties } from './property.js';
import { describeReadAll } from './read-all.js';
import { describeReadStream } from './read-stream.js';
import { describeSchemas } from './schemas.js';
import { describeSubscribe } from './subscribe.js';
import { createConformanceSuite } from './suite.js';

export * from './transport/index.js';
export type {
  EventStoreConformanceOptions,
  EventStoreFactoryOptions,
  EventStoreFeatures,
  SkippedTests,
} from './options.js';

/**
 * Define the event store conformance suite as vitest `describe`/`it` blocks, for the store
 * `create` builds. Every store must pass it: call it at the top level of a test file.
 *
 * @example
 * describeEventStoreConformance('in-memory', {
 *   create: (options) => createInMemoryEventStore(options),
 * });
 */
export function describeEventStoreConformance(
  name: string,
  options: EventStoreConformanceOptions,
): void {
  describe(`event store conformance: ${name}`, () => {
    const suite = createConformanceSuite(options);
    describeAppend(suite);
    describeExpectedVersion(suite);
    describeIdempotentAppend(suite);
    describeReadStream(suite);
    describeReadAll(suite);
    describeCorrelation(suite);
    describeAggregate(suite);
    describeSubscribe(suite);
    describeSchemas(suite);
    describeBadInput(suite);
    describeBadReadInput(suite);
    describeDurability(suite);
    describeMultiProcess(suite);
    describeProperties(suite);
    suite.testSkipList();
  });
}
export * from './consumer-records/index.js';
export * from './relay/index.js';
export * from './schedule/index.js';
export * from './saga/index.js';
export * from './projection/index.js';
