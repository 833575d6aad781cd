import {
  StoreClosedError,
  createInMemoryEventStore,
  type AggregateStreamOptions,
  type AppendOptions,
  type EventStore,
  type InMemoryEventStore,
  type ReadAllOptions,
  type ReadByCorrelationOptions,
  type ReadStreamOptions,
  type SubscribeOptions,
  type Subscription,
} from '@eventfabric/core';
import { describeEventStoreConformance } from '../src/index.js';

/**
 * One handle on an in-memory store that outlives its handles, the way a database outlives
 * its connections. It lets the suite's feature-gated tests (reopen, several handles) run
 * here, so they are known to pass against a conforming store before a durable backend
 * depends on them.
 */
class StoreHandle implements EventStore {
  private closed = false;
  private readonly subscriptions = new Set<Subscription>();

  constructor(readonly storage: InMemoryEventStore) {}

  appendToStream(streamId: string, events: readonly unknown[], options?: AppendOptions) {
    return this.open().appendToStream(streamId, events, options);
  }
  readStream(streamId: string, options?: ReadStreamOptions) {
    return this.open().readStream(streamId, options);
  }
  readAll(options?: ReadAllOptions) {
    return this.open().readAll(options);
  }
  readByCorrelation(correlationId: string, options?: ReadByCorrelationOptions) {
    return this.open().readByCorrelation(correlationId, options);
  }
  streamExists(streamId: string) {
    return this.open().streamExists(streamId);
  }
  streamVersion(streamId: string) {
    return this.open().streamVersion(streamId);
  }
  headPosition() {
    return this.open().headPosition();
  }
  aggregateStream<S>(streamId: string, options: AggregateStreamOptions<S>) {
    return this.open().aggregateStream(streamId, options);
  }
  subscribe(options: SubscribeOptions): Subscription {
    const subscription = this.open().subscribe(options);
    this.subscriptions.add(subscription);
    return subscription;
  }
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.subscriptions].map((s) => s.stop()));
  }

  private open(): InMemoryEventStore {
    if (this.closed) throw new StoreClosedError();
    return this.storage;
  }
}

describeEventStoreConformance('in-memory through handles', {
  create: (options) => new StoreHandle(createInMemoryEventStore(options)),
  reopen: (store) => new StoreHandle((store as StoreHandle).storage),
  features: { durableAcrossReopen: true, multiProcess: true },
  skip: [
    {
      reason: 'shows a skip by name; the in-memory run covers this test',
      tests: ['readAll returns at most 1000 events by default'],
    },
  ],
});
