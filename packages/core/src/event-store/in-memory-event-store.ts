import { EventEmitter } from 'node:events';
import { StoreClosedError } from '../errors/index.js';
import type { StoredEvent } from '../envelope/index.js';
import type { EventSchemas } from '../schema/event-schemas.js';
import { aggregateStreamWithSnapshots, type AggregateSource } from './aggregate-stream.js';
import { matchesAllFilter, resolveCorrelationRead, resolveReadAll } from './all-filter.js';
import { SubscriptionSet } from './catch-up-subscription.js';
import type {
  AggregateStreamOptions,
  AggregateStreamResult,
  AppendOptions,
  AppendResult,
  EventStore,
  ReadAllOptions,
  ReadByCorrelationOptions,
  ReadStreamOptions,
  SchemaStorage,
  Snapshot,
  StoredSchemaRecord,
  SubscribeOptions,
  Subscription,
} from './event-store.js';
import { checkExpectedVersion } from './expected-version.js';
import { DEFAULT_STORE_LIMITS, type StoreLimits } from './limits.js';
import {
  assertExpectedVersion,
  assertStreamId,
  resolveEarlierAppend,
  prepareAppend,
  resolveLimits,
  type EventStoreCommonOptions,
} from './prepare-append.js';
import { readStreamWindow } from './read-stream-window.js';

/** Options for {@link InMemoryEventStore}. */
export type InMemoryEventStoreOptions = EventStoreCommonOptions;

interface Row {
  json: string;
  streamId: string;
  streamVersion: number;
  position: bigint;
  correlationId: string;
  recordedAt: number;
  type: string;
  subject: string;
}

/**
 * The reference {@link EventStore}: every guarantee of the contract, held in memory. It
 * passes the same conformance suite as the durable stores; "durable" here means "until
 * the process exits".
 */
export class InMemoryEventStore implements EventStore, SchemaStorage {
  private readonly log: Row[] = [];
  private readonly streams = new Map<string, Row[]>();
  private readonly byId = new Map<string, Row>();
  private readonly snapshots = new Map<string, Snapshot>();
  private readonly schemaRecords: StoredSchemaRecord[] = [];
  private readonly appended = new EventEmitter().setMaxListeners(0);
  private readonly limits: StoreLimits;
  private readonly snapshotEvery: number;
  private readonly subscriptions = new SubscriptionSet();
  private closed = false;
  private schemas: EventSchemas | undefined;

  constructor(private readonly options: InMemoryEventStoreOptions = {}) {
    this.limits = resolveLimits(options.limits, DEFAULT_STORE_LIMITS);
    this.schemas = options.schemas;
    this.snapshotEvery = options.snapshotEvery ?? 100;
  }

  async appendToStream(
    streamId: string,
    events: readonly unknown[],
    options: AppendOptions = {},
  ): Promise<AppendResult> {
    this.assertOpen();
    // `null` is not a form of 'any': only an omitted option defaults.
    const expected = options.expectedVersion === undefined ? 'any' : options.expectedVersion;
    assertExpectedVersion(expected);
    const prepared = prepareAppend(streamId, events, this.limits, {
      schemas: this.schemas,
      allowForeignTypes: this.options.allowForeignTypes,
    });
    const earlier = resolveEarlierAppend(
      streamId,
      prepared,
      prepared.map((p) => {
        const row = this.byId.get(p.event.id);
        return row && { ...row, body: row.json };
      }),
    );
    if (earlier) return earlier;
    const stream = this.streams.get(streamId) ?? [];
    checkExpectedVersion(streamId, expected, stream.length - 1);
    const recordedAt = Date.now();
    const rows = prepared.map(({ event, json }, i): Row => ({
      json,
      streamId,
      streamVersion: stream.length + i,
      position: BigInt(this.log.length + i + 1),
      correlationId: event.correlationid,
      recordedAt,
      type: event.type,
      subject: event.subject,
    }));
    for (const row of rows) {
      this.log.push(row);
      stream.push(row);
      this.byId.set(JSON.parse(row.json).id as string, row);
    }
    this.streams.set(streamId, stream);
    this.appended.emit('append');
    const positions = rows.map((r) => r.position.toString());
    return {
      streamVersion: stream.length - 1,
      position: positions[positions.length - 1]!,
      positions,
      deduplicated: false,
    };
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<StoredEvent[]> {
    this.assertOpen();
    assertStreamId(streamId);
    const stream = this.streams.get(streamId) ?? [];
    const window = readStreamWindow(options, stream.length - 1);
    const rows =
      window.direction === 'forwards'
        ? stream.slice(window.from, window.to + 1)
        : stream.slice(window.to, window.from + 1).reverse();
    return rows.slice(0, window.limit).map((row) => this.present(row, options.raw));
  }

  async readAll(options: ReadAllOptions = {}): Promise<StoredEvent[]> {
    this.assertOpen();
    const { after, limit } = resolveReadAll(options);
    const out: StoredEvent[] = [];
    for (let i = Number(after); i < this.log.length && out.length < limit; i++) {
      const row = this.log[i]!;
      if (matchesAllFilter(row, options)) out.push(this.present(row, options.raw));
    }
    return out;
  }

  async readByCorrelation(
    correlationId: string,
    options: ReadByCorrelationOptions = {},
  ): Promise<StoredEvent[]> {
    this.assertOpen();
    const { after, limit } = resolveCorrelationRead(correlationId, options);
    return this.log
      .filter((row) => row.correlationId === correlationId && row.position > after)
      .slice(0, limit)
      .map((row) => this.present(row, options.raw));
  }

  async streamExists(streamId: string): Promise<boolean> {
    return (await this.streamVersion(streamId)) >= 0;
  }

  async streamVersion(streamId: string): Promise<number> {
    this.assertOpen();
    assertStreamId(streamId);
    return (this.streams.get(streamId)?.length ?? 0) - 1;
  }

  async headPosition(): Promise<string> {
    this.assertOpen();
    return String(this.log.length);
  }

  async aggregateStream<S>(
    streamId: string,
    options: AggregateStreamOptions<S>,
  ): Promise<AggregateStreamResult<S>> {
    this.assertOpen();
    assertStreamId(streamId);
    return aggregateStreamWithSnapshots(
      this.aggregateSource,
      streamId,
      options,
      this.snapshotEvery,
    );
  }

  subscribe(options: SubscribeOptions): Subscription {
    this.assertOpen();
    return this.subscriptions.start(
      {
        readAll: (o) => this.readAll(o),
        onAppend: (wake) => {
          this.appended.on('append', wake);
          return () => this.appended.off('append', wake);
        },
      },
      options,
    );
  }

  async loadSchemas(): Promise<StoredSchemaRecord[]> {
    return this.schemaRecords.map((r) => structuredClone(r));
  }

  async saveSchema(record: StoredSchemaRecord): Promise<void> {
    const found = this.schemaRecords.find(
      (r) => r.base === record.base && r.version === record.version,
    );
    if (!found) this.schemaRecords.push(structuredClone(record));
  }

  /**
   * Validate appends and upcast reads with these schemas from now on. A registry usually
   * persists its schemas in this same store, so it can only exist after the store does.
   */
  useSchemas(schemas: EventSchemas | undefined): void {
    this.schemas = schemas;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.subscriptions.stopAll();
  }

  private readonly aggregateSource: AggregateSource = {
    readStreamFrom: async (streamId, fromVersion, maxPosition) =>
      (this.streams.get(streamId) ?? [])
        .slice(fromVersion)
        .filter((row) => maxPosition === undefined || row.position <= maxPosition)
        .map((row) => this.present(row, false)),
    loadSnapshot: async (streamId, name, maxPosition) => {
      const snapshot = this.snapshots.get(`${streamId}\u0000${name}`);
      if (!snapshot || (maxPosition !== undefined && BigInt(snapshot.position) > maxPosition))
        return undefined;
      return structuredClone(snapshot);
    },
    saveSnapshot: async (snapshot) => {
      this.snapshots.set(`${snapshot.streamId}\u0000${snapshot.name}`, structuredClone(snapshot));
    },
    positionAt: async (time) => {
      let position = 0n;
      for (const row of this.log) {
        if (row.recordedAt > time.getTime()) break;
        position = row.position;
      }
      return position;
    },
  };

  private present(row: Row, raw: boolean | undefined): StoredEvent {
    const event = JSON.parse(row.json) as StoredEvent;
    event.streamversion = row.streamVersion;
    event.position = row.position.toString();
    return raw || !this.schemas ? event : this.schemas.upcast(event);
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreClosedError();
  }
}

/** Create the in-memory reference store. */
export function createInMemoryEventStore(
  options: InMemoryEventStoreOptions = {},
): InMemoryEventStore {
  return new InMemoryEventStore(options);
}
