import type { StoredEvent } from '../envelope/index.js';
import { InvalidArgumentError } from '../errors/index.js';
import { compileTopicPattern, topicPrefixes } from '../transport/topic-pattern.js';

/** What a projection handler gets besides the event. */
export interface ProjectionContext<Tx = unknown> {
  /**
   * The store's transaction the update runs in: a better-sqlite3 `Database` on SQLite, a
   * `PostgresTransaction` on PostgreSQL. The checkpoint commits with it.
   */
  tx: Tx;
  /** The SQL name (quoted, schema-qualified where the store has schemas) of one of `tables` in the version being written. */
  table(name: string): string;
  /** True while a version is built from the log and is not yet live. */
  rebuilding: boolean;
}

export type ProjectionHandler<Tx = unknown> = (
  event: StoredEvent,
  context: ProjectionContext<Tx>,
) => Promise<void> | void;

/** A read model built from the log. See {@link defineProjection}. */
export interface ProjectionDefinition<Tx = unknown> {
  /** Lower-case letters, digits and `_`, starting with a letter; at most 24 characters. */
  name: string;
  /**
   * Raise it when the handlers or tables change: the new version is built from the start of
   * the log beside the live one, which keeps serving until the new one has caught up and
   * takes its place in one transaction.
   */
  version: number;
  /** The tables the projection owns (same naming rule as `name`); readers query them by these names. */
  tables: readonly string[];
  /** Create the version's tables, named through `context.table`. Runs once per version. */
  setup(context: ProjectionContext<Tx>): Promise<void> | void;
  /** Update the read model, keyed by event type or pattern (`treasury.*`). Same transaction as the checkpoint. */
  handlers: Readonly<Record<string, ProjectionHandler<Tx>>>;
  /**
   * Effects outside the read model (a notification, a webhook), keyed like `handlers`. They
   * run after the update commits, and only for a live version: never while a version is
   * being built or rebuilt from the log.
   */
  sideEffects?: Readonly<Record<string, ProjectionHandler<Tx>>>;
  /**
   * Also update the live version inline: appends made through an inline projector
   * (`createSqliteInlineProjector`, `createPostgresInlineProjector`) apply the handlers in
   * the append's own transaction, so the append's caller reads its own writes. The daemon
   * still builds new versions and applies events appended any other way, skipping those
   * applied inline. @defaultValue false
   */
  inline?: boolean;
}

/** A definition, checked, with its handlers compiled. */
export interface CompiledProjection<Tx = unknown> extends ProjectionDefinition<Tx> {
  /** Type prefixes covering every key of `handlers` and `sideEffects`, or undefined for all. */
  readonly typePrefixes: string[] | undefined;
  /** The handlers and side effects for one event type, in declaration order. */
  route(type: string): { handlers: ProjectionHandler<Tx>[]; sideEffects: ProjectionHandler<Tx>[] };
}

/**
 * At most 24 characters, so `p_<name>_v<version>_<table>` fits PostgreSQL's 63-byte
 * identifiers for any version below 10^10.
 */
const NAME = /^[a-z][a-z0-9_]{0,23}$/;

/**
 * Declare a projection, checked up front.
 * @throws InvalidArgumentError for a malformed name, version, table or handler key
 */
export function defineProjection<Tx = unknown>(
  definition: ProjectionDefinition<Tx>,
): CompiledProjection<Tx> {
  if (typeof definition !== 'object' || definition === null) {
    throw new InvalidArgumentError('defineProjection needs a definition object');
  }
  const { name, version, tables, setup, handlers, sideEffects, inline } = definition;
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new InvalidArgumentError(
      'projection name must be lower-case letters, digits and _, starting with a letter, at most 24 characters',
      { name: String(name) },
    );
  }
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version <= 0) {
    throw new InvalidArgumentError('projection version must be a positive integer', {
      projection: name,
      version: version as never,
    });
  }
  if (!Array.isArray(tables) || tables.length === 0) {
    throw new InvalidArgumentError('a projection needs at least one table', { projection: name });
  }
  for (const table of tables) {
    if (typeof table !== 'string' || !NAME.test(table)) {
      throw new InvalidArgumentError(`projection ${name}: malformed table name`, {
        table: String(table),
      });
    }
  }
  if (new Set(tables).size !== tables.length) {
    throw new InvalidArgumentError(`projection ${name}: a table is listed twice`);
  }
  if (inline !== undefined && typeof inline !== 'boolean') {
    throw new InvalidArgumentError(`projection ${name}: inline must be true or false`);
  }
  if (typeof setup !== 'function') {
    throw new InvalidArgumentError(`projection ${name} needs a setup function`);
  }
  const routes = [
    ...compileRoutes(name, 'handlers', handlers).map((r) => ({ ...r, side: false })),
    ...compileRoutes(name, 'sideEffects', sideEffects ?? {}).map((r) => ({ ...r, side: true })),
  ];
  if (!routes.some((r) => !r.side)) {
    throw new InvalidArgumentError(`projection ${name} needs at least one handler`);
  }
  const cache = new Map<string, ReturnType<CompiledProjection<Tx>['route']>>();
  return {
    ...definition,
    typePrefixes: topicPrefixes(
      routes.map((r) => r.key),
      { anyVersion: true },
    ),
    route(type) {
      let found = cache.get(type);
      if (!found) {
        const matching = routes.filter((r) => r.matches(type));
        found = {
          handlers: matching.filter((r) => !r.side).map((r) => r.handler),
          sideEffects: matching.filter((r) => r.side).map((r) => r.handler),
        };
        cache.set(type, found);
      }
      return found;
    },
  };
}

function compileRoutes<Tx>(
  name: string,
  field: string,
  map: Readonly<Record<string, ProjectionHandler<Tx>>> | undefined,
) {
  if (typeof map !== 'object' || map === null) {
    throw new InvalidArgumentError(`projection ${name}: ${field} must be an object`);
  }
  return Object.entries(map).map(([key, handler]) => {
    if (typeof handler !== 'function') {
      throw new InvalidArgumentError(`projection ${name}: ${field}["${key}"] is not a function`);
    }
    return { key, handler, matches: compileTopicPattern(key) };
  });
}

/** The context handlers get while `version` of `projection` is written in `tx`. */
export function projectionContext<Tx>(
  projection: Pick<CompiledProjection<Tx>, 'name' | 'tables'>,
  version: number,
  tableName: (name: string, version: number, table: string) => string,
  tx: Tx,
  rebuilding: boolean,
): ProjectionContext<Tx> {
  const { name, tables } = projection;
  return {
    tx,
    rebuilding,
    table: (table) => {
      if (!tables.includes(table)) {
        throw new InvalidArgumentError(`projection ${name} has no table ${table}`, { table });
      }
      return tableName(name, version, table);
    },
  };
}
