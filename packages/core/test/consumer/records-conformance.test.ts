import {
  describeDeadLetterStoreConformance,
  describeProcessedEventsConformance,
} from '@eventfabric/conformance';
import {
  InMemoryDeadLetterStore,
  InMemoryIdempotencyKeyStore,
  InMemoryProcessedEvents,
} from '../../src/index.js';

describeDeadLetterStoreConformance('in-memory', { create: () => new InMemoryDeadLetterStore() });
describeProcessedEventsConformance('in-memory', {
  create: () => new InMemoryProcessedEvents(),
  createKeys: () => new InMemoryIdempotencyKeyStore(),
});
