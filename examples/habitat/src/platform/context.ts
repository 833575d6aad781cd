import type { CloudEvent, CompiledProjection, EventHandler, StoredEvent } from '@eventfabric/core';
import type { Backend } from './backend.js';
import type { EventPublisher } from './event-publisher.js';
import type { SqlExecutor } from './sql.js';

/** Failures a test can inject into Treasury's allocation handlers (see the saga test). */
export interface Faults {
  /** Steps whose handler replies with a failure. */
  fail?: readonly AllocationStepName[];
  /** Steps whose handler never replies, so the saga's timeout fires. */
  silence?: readonly AllocationStepName[];
}

export type AllocationStepName = 'allocate' | 'credit' | 'schedule';

/** Instrumentation: when state commits and when read models apply it (the SLA benchmark). */
export interface Observer {
  /** A mutation's unit of work committed these events. */
  committed?(events: readonly CloudEvent[]): void;
  /** A projection committed its update for a live event. */
  projected?(projection: string, event: StoredEvent): void;
}

/** What a context is given when Habitat starts. */
export interface ContextDeps {
  observer: Observer;
  backend: Backend;
  publisher: EventPublisher;
  faults: Faults;
  /** How long an allocation step waits for its reply. */
  stepTimeoutMs: number;
}

/** A handler with what the event catalog says about it. */
export interface HandlerSpec {
  handler: EventHandler;
  /** Event types it may emit. */
  produces: readonly string[];
  /** How fast its effect is promised, e.g. `p99 ≤ 1 s`. */
  sla: string;
}

/** A mutation with what the event catalog says about it. */
export interface CommandSpec {
  /** The GraphQL mutation. */
  mutation: string;
  produces: readonly string[];
}

/** GraphQL resolvers, keyed by type then field. */
export type Resolvers = Record<string, Record<string, (...args: never[]) => unknown>>;

/**
 * A bounded context: its tables, its commands (GraphQL mutations), its reactions to other
 * contexts' events (handlers) and its read models (projections). Contexts share nothing
 * but this shape and the log.
 */
export interface BoundedContext {
  /** `people`, `agreements` or `treasury`: the service name of its handlers too. */
  name: string;
  /** The `source` of the events it emits. */
  source: string;
  /** CREATE TABLE IF NOT EXISTS statements for the tables it owns. */
  tables(sql: SqlExecutor): string[];
  commands: readonly CommandSpec[];
  handlers(deps: ContextDeps): HandlerSpec[];
  projections(deps: ContextDeps): CompiledProjection<unknown>[];
  /** Projections whose SLA the catalog states (name → SLA). */
  projectionSla: Readonly<Record<string, string>>;
  typeDefs: string;
  resolvers(deps: ContextDeps): Resolvers;
}
