import { dirname } from 'node:path';
import {
  InvalidConfigError,
  StoreUnavailableError,
  createSchemaRegistry,
  isConventionalEventType,
  loadSchemaFiles,
  type CloudEvent,
  type DeadLetterStore,
  type EventSchemas,
  type EventStore,
  type ProcessedEvents,
  type SchemaStorage,
  type SchemaRegistry,
  type StoredEvent,
  type Transport,
} from '@eventfabric/core';
import {
  PostgresDeadLetterStore,
  PostgresProcessedEvents,
  createPostgresEventStore,
  createPostgresLogTransport,
  type PostgresEventStore,
} from '@eventfabric/postgres';
import {
  SqliteProcessedEvents,
  createSqliteDeadLetterStore,
  createSqliteTransport,
  createSqliteEventStore,
  type SqliteEventStore,
  makeDirectories,
} from '@eventfabric/sqlite';
import { redactUrl, type ResolvedConfig } from './config.js';

/** How long the CLI waits for a PostgreSQL connection before STORE_UNAVAILABLE. */
const POSTGRES_CONNECT_TIMEOUT_MS = 5000;
/** A CLI command needs few connections. */
const POSTGRES_POOL_SIZE = 4;

/** What every command uses of a store, whichever kind it is. */
export type CliEventStore = EventStore &
  SchemaStorage & {
    /** Validate appends and upcast reads with these schemas from now on. */
    useSchemas(schemas: EventSchemas | undefined): void;
    close(): Promise<void>;
  };

/** The store with its concrete type, for what only one kind has. */
export type StoreBackend =
  { kind: 'sqlite'; store: SqliteEventStore } | { kind: 'postgres'; store: PostgresEventStore };

/** Options for {@link connectStore}. */
export interface ConnectStoreOptions {
  /** Admit, and skip validating, types outside the naming rule. @defaultValue false */
  allowForeignTypes?: boolean;
  /**
   * Apply pending PostgreSQL migrations on connect (a SQLite store always migrates on open).
   * @defaultValue true
   */
  migrate?: boolean;
}

/**
 * Connect to the configured store, without its schema registry: what `migrate` and `doctor`
 * use. The caller closes `backend.store`.
 * @throws StoreUnavailableError
 */
export async function connectStore(
  config: Pick<ResolvedConfig, 'store'>,
  options: ConnectStoreOptions = {},
): Promise<StoreBackend> {
  const allowForeignTypes = options.allowForeignTypes ?? false;
  const location = config.store;
  if (location.kind === 'postgres') {
    const store = await createPostgresEventStore({
      connectionString: location.connectionString,
      schema: location.schema,
      migrate: options.migrate ?? true,
      allowForeignTypes,
      poolSize: POSTGRES_POOL_SIZE,
      connectTimeoutMs: POSTGRES_CONNECT_TIMEOUT_MS,
    });
    return { kind: 'postgres', store };
  }
  if (location.path !== ':memory:') {
    // The store creates its directory too; doing it here names the directory in the error.
    const dir = dirname(location.path);
    try {
      makeDirectories(dir);
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      throw new StoreUnavailableError(
        `cannot create the store directory ${dir}: ${reason}`,
        { path: dir },
        { cause: error },
      );
    }
  }
  return {
    kind: 'sqlite',
    store: createSqliteEventStore({ path: location.path, allowForeignTypes }),
  };
}

/** The store, for messages: a path, or the PostgreSQL URL (password hidden) and schema. */
export function describeStore(config: Pick<ResolvedConfig, 'store' | 'storeUrl'>): string {
  const location = config.store;
  if (location.kind === 'sqlite') return `sqlite:${location.path}`;
  return `${redactUrl(location.connectionString)} (schema ${location.schema})`;
}

/** Options for {@link openStore}. */
export interface OpenStoreOptions {
  /**
   * Register the schema directory's files before anything else (commands that write events).
   * @defaultValue false: only the schemas already in the store are used
   */
  loadSchemaFiles?: boolean;
  /** Admit, and skip validating, types outside the naming rule. @defaultValue false */
  allowForeignTypes?: boolean;
}

/** A store of either kind, and the schema registry kept in it. */
export interface OpenedStore {
  kind: StoreBackend['kind'];
  store: CliEventStore;
  /** The same store with its concrete type. */
  backend: StoreBackend;
  registry: SchemaRegistry;
  /** What appends validate with: the registry, under the rules on {@link openStore}. */
  schemas: EventSchemas;
  close(): Promise<void>;
}

/**
 * Open the configured store with its schema registry (persisted in the store itself), and
 * optionally register the schema directory's files.
 *
 * Appends validate against the registry once it holds any schema: from then on an event
 * type without one is rejected (SCHEMA_NOT_FOUND), which catches misspelt types. A store
 * without schemas validates nothing, so the zero-setup path stays zero-setup. Foreign types
 * admitted by `allowForeignTypes` cannot have schemas and pass unvalidated.
 *
 * @throws StoreUnavailableError, InvalidSchemaError, IncompatibleSchemaError
 */
export async function openStore(
  config: Pick<ResolvedConfig, 'storeUrl' | 'store' | 'storeSource' | 'schemasDir'>,
  options: OpenStoreOptions = {},
): Promise<OpenedStore> {
  const allowForeignTypes = options.allowForeignTypes ?? false;
  const backend = await connectStore(config, { allowForeignTypes });
  const store: CliEventStore = backend.store;
  try {
    const registry = await createSchemaRegistry({ storage: store });
    if (options.loadSchemaFiles && config.schemasDir !== undefined) {
      await loadSchemaFiles(registry, config.schemasDir);
    }
    const schemas = cliSchemas(registry, allowForeignTypes);
    store.useSchemas(schemas);
    return {
      kind: backend.kind,
      store,
      backend,
      registry,
      schemas,
      close: () => store.close(),
    };
  } catch (error) {
    await store.close();
    throw error;
  }
}

/** The store's dead-letter queue: in the SQLite file, or in the PostgreSQL schema. */
export function deadLetterStore(opened: Pick<OpenedStore, 'backend'>): DeadLetterStore {
  const { backend } = opened;
  return backend.kind === 'sqlite'
    ? createSqliteDeadLetterStore(backend.store)
    : new PostgresDeadLetterStore(backend.store);
}

/**
 * The store's processed-event record (idempotency per handler and event id), and how to
 * release it.
 */
export function processedEvents(opened: Pick<OpenedStore, 'backend'>): {
  processed: ProcessedEvents;
  close(): void;
} {
  const { backend } = opened;
  if (backend.kind === 'postgres') {
    return { processed: new PostgresProcessedEvents(backend.store), close: () => undefined };
  }
  const processed = new SqliteProcessedEvents(backend.store);
  return { processed, close: () => processed.close() };
}

/**
 * Refuse, before anything is opened, a command that has no PostgreSQL form yet.
 * @throws InvalidConfigError naming the command and the limitation
 */
export function assertSqliteStore(
  config: Pick<ResolvedConfig, 'store'>,
  command: string,
  why: string,
): void {
  const location = config.store;
  if (location.kind === 'sqlite') return;
  throw new InvalidConfigError(
    `${command} needs a SQLite store in this build: ${why}; use --store sqlite:<path>`,
    { command, store: redactUrl(location.connectionString), schema: location.schema },
  );
}

/** The registry, with the CLI's rules for empty registries and foreign types. */
function cliSchemas(registry: SchemaRegistry, allowForeignTypes: boolean): EventSchemas {
  return {
    validate(event: CloudEvent): CloudEvent {
      if (allowForeignTypes && !isConventionalEventType(event.type)) return event;
      // Checked per event, so schemas registered after opening (the demo) apply at once;
      // list() only runs for a type without a schema.
      if (registry.get(event.type) === undefined && registry.list().length === 0) return event;
      return registry.validate(event);
    },
    upcast: (event: StoredEvent): StoredEvent => registry.upcast(event),
  };
}

/**
 * The transport over the store's log: the embedded transport on SQLite, the log transport
 * on PostgreSQL. What `consume` runs on, and where a re-driven handler's follow-up events go
 * (appended to the log, as in `consume`). The caller closes it.
 */
export async function openLogTransport(opened: Pick<OpenedStore, 'backend'>): Promise<Transport> {
  const { backend } = opened;
  return backend.kind === 'sqlite'
    ? createSqliteTransport({ store: backend.store })
    : createPostgresLogTransport({ store: backend.store });
}
