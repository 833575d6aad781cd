import { describeEventStoreConformance } from '@eventfabric/conformance';
import { createInMemoryEventStore } from '../src/index.js';

// The reference store keeps nothing across a reopen and lives in one process, so it
// declares neither `durableAcrossReopen` nor `multiProcess`.
describeEventStoreConformance('in-memory', {
  create: (options) => createInMemoryEventStore(options),
});
