import { describeScheduledMessageStoreConformance } from '@eventfabric/conformance';
import { InMemoryScheduledMessages } from '../src/index.js';

describeScheduledMessageStoreConformance('in-memory', {
  create: () => new InMemoryScheduledMessages(),
});
