import { dirname } from 'node:path';
import {
  StoreUnavailableError,
  createSchemaRegistry,
  isConventionalEventType,
  loadSchemaFiles,
  type CloudEvent,
  type EventSchemas,
  type SchemaRegistry,
  type StoredEvent,
} from '@eventfabric/core';
import {
  createSqliteEventStore,
  type SqliteEventStore,
  makeDirectories,
} from '@eventfabric/sqlite';
import type { ResolvedConfig } from './config.js';

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

/** A store, and the schema registry kept in it. */
export interface OpenedStore {
  store: SqliteEventStore;
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
  if (config.store.path !== ':memory:') {
    // The store creates its directory too; doing it here names the directory in the error.
    const dir = dirname(config.store.path);
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
  const store = createSqliteEventStore({ path: config.store.path, allowForeignTypes });
  try {
    const registry = await createSchemaRegistry({ storage: store });
    if (options.loadSchemaFiles && config.schemasDir !== undefined) {
      await loadSchemaFiles(registry, config.schemasDir);
    }
    const schemas = cliSchemas(registry, allowForeignTypes);
    store.useSchemas(schemas);
    return { store, registry, schemas, close: () => store.close() };
  } catch (error) {
    await store.close();
    throw error;
  }
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
