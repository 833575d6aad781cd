import {
  createEvent,
  type CloudEvent,
  type HandlerContext,
  type StoredEvent,
} from '@eventfabric/core';
import type { Backend } from './backend.js';
import type { Observer } from './context.js';
import type { SqlTransaction } from './sql.js';

/** An event a unit of work emits; it is appended to `stream` when the work commits. */
export interface Emit<T = unknown> {
  type: string;
  /** The stream (and the event's subject), e.g. `member-m-7`. */
  stream: string;
  data: T;
}

/** What a unit of work gets: the context's SQL in the transaction, and a way to emit. */
export interface UnitOfWork extends Omit<SqlTransaction, 'append'> {
  emit<T>(event: Emit<T>): CloudEvent<T>;
}

/** What a committed unit of work produced. */
export interface Published<T> {
  result: T;
  events: readonly CloudEvent[];
  /** The position of each event in the log, in order. */
  positions: readonly string[];
}

/**
 * The one way Habitat changes state. A unit of work writes its context's tables and emits
 * events; the writes and the events (appended to the log, the transactional outbox) commit
 * in one transaction, or neither does. Every GraphQL mutation and every handler goes
 * through it, so no state change ever goes unannounced and no event describes a change
 * that was rolled back.
 */
export class EventPublisher {
  constructor(
    private readonly backend: Backend,
    private readonly observer: Observer = {},
  ) {}

  /** A command from outside (a mutation): its events start a new flow. */
  async publish<T>(source: string, work: (uow: UnitOfWork) => Promise<T>): Promise<Published<T>> {
    const published = await this.backend.transaction((tx) =>
      run(tx, work, (e) => createEvent({ type: e.type, source, subject: e.stream, data: e.data })),
    );
    this.observer.committed?.(published.events);
    return published;
  }

  /**
   * Inside a transactional handler: the writes, the follow-up events (caused by, and
   * correlated with, the handled event) and the handler's processed-event record commit
   * together.
   */
  react<T>(
    context: HandlerContext,
    source: string,
    work: (uow: UnitOfWork) => Promise<T>,
  ): Promise<Published<T>> {
    return run(this.backend.wrap(context.tx), work, (e) =>
      context.createEvent({ type: e.type, source, subject: e.stream, data: e.data }),
    );
  }

  /** Inside a projection: the projection's own transaction, for reads and writes. */
  within(tx: unknown): SqlTransaction {
    return this.backend.wrap(tx);
  }
}

async function run<T>(
  tx: SqlTransaction,
  work: (uow: UnitOfWork) => Promise<T>,
  build: (emit: Emit) => CloudEvent,
): Promise<Published<T>> {
  const events: CloudEvent[] = [];
  const uow: UnitOfWork = {
    dialect: tx.dialect,
    table: (name) => tx.table(name),
    all: (sql, params) => tx.all(sql, params),
    run: (sql, params) => tx.run(sql, params),
    emit: <E>(emit: Emit<E>) => {
      const event = build(emit) as CloudEvent<E>;
      events.push(event);
      return event;
    },
  };
  const result = await work(uow);
  const positions: string[] = [];
  // One append per run of consecutive events on a stream keeps the log in emit order.
  for (let i = 0; i < events.length;) {
    let j = i + 1;
    while (j < events.length && events[j]!.subject === events[i]!.subject) j++;
    positions.push(...(await tx.append(events[i]!.subject!, events.slice(i, j))));
    i = j;
  }
  return { result, events, positions };
}

/** The data of an event a handler or projection receives, typed by the caller. */
export function dataOf<T>(event: CloudEvent | StoredEvent): T {
  return event.data as T;
}
