import {
  IncompatibleSchemaError,
  InvalidSchemaError,
  isEventFabricError,
  ErrorCodes,
} from '../errors/index.js';
import type { SchemaStorage, StoredSchemaRecord } from '../event-store/event-store.js';
import { toStoredSchemaRecord } from './schema-record.js';
import { readSchemaFiles, type SchemaFile } from './schema-files.js';
import type { CheckCompatibilityResult } from './schema-registry-options.js';
import { SchemaRegistry } from './schema-registry.js';

/** The verdict on one schema file; see {@link checkSchemaFiles}. */
export interface SchemaFileCheck extends CheckCompatibilityResult {
  file: string;
  type: string;
}

/**
 * Plan the registration of the schema files under `dir` (the schemas directory, laid out as
 * `<context>/<entity>.<verb>.v<N>.json`) without registering anything: the
 * `eventfabric schema check` CI gate. One result per file, in registration order. A new
 * version is checked against the registered versions and the new files before it, as if
 * they had been registered; a file that changes a registered version is reported with a
 * `version-modified` change.
 *
 * @throws InvalidArgumentError when `dir` cannot be read
 * @throws InvalidSchemaError naming the file, for malformed JSON, a badly named file, a
 *   schema that is not valid JSON Schema 2020-12, or a skipped version
 */
export async function checkSchemaFiles(
  registry: SchemaRegistry,
  dir: string,
): Promise<SchemaFileCheck[]> {
  return plan(registry, await readSchemaFiles(dir));
}

/**
 * Register every schema file under `dir` (see {@link checkSchemaFiles} for the layout), in
 * version order per base type. Files are all read and checked first, so a bad file
 * registers nothing; versions already registered with the same schema are skipped.
 *
 * @returns the types this call registered, in registration order
 * @throws InvalidSchemaError naming the file, for malformed JSON, a badly named file, an
 *   invalid schema, a skipped version, or a change to a registered version
 * @throws IncompatibleSchemaError for the first file that breaks its subject's mode
 */
export async function loadSchemaFiles(registry: SchemaRegistry, dir: string): Promise<string[]> {
  const files = await readSchemaFiles(dir);
  const checks = await plan(registry, files);
  const failed = checks.find((check) => !check.compatible);
  if (failed !== undefined) {
    if (!failed.new) {
      throw new InvalidSchemaError(
        `${failed.file}: ${failed.type} is already registered with a different schema; registered versions are immutable, so add the change as a new version`,
        { file: failed.file, type: failed.type },
      );
    }
    throw new IncompatibleSchemaError(failed.type, failed.mode, failed.changes);
  }
  const registered: string[] = [];
  for (const file of files) {
    const result = await registry.register(file.type, file.schema);
    if (result.created) registered.push(file.type);
  }
  return registered;
}

/**
 * Check each file in order on a scratch registry that holds the real one's versions and
 * modes, registering each new version there (even an incompatible one, under NONE) so the
 * next version of the same base is checked against it.
 */
async function plan(registry: SchemaRegistry, files: SchemaFile[]): Promise<SchemaFileCheck[]> {
  const records = registry.list().map(toStoredSchemaRecord);
  const scratch = await SchemaRegistry.create({ storage: snapshotStorage(records) });
  for (const base of new Set([...records.map((r) => r.base), ...files.map((f) => f.base)])) {
    scratch.setCompatibility(base, registry.getCompatibility(base));
  }
  const checks: SchemaFileCheck[] = [];
  for (const { file, type, base, schema } of files) {
    try {
      const result = scratch.checkCompatibility(type, schema);
      checks.push({ file, type, ...result });
      if (result.new) {
        await scratch.register(type, schema, { compatibility: 'NONE' });
        scratch.setCompatibility(base, result.mode);
      }
    } catch (error) {
      if (
        !isEventFabricError(error, ErrorCodes.INVALID_ARGUMENT) &&
        !isEventFabricError(error, ErrorCodes.INVALID_SCHEMA)
      ) {
        throw error;
      }
      throw new InvalidSchemaError(`${file}: ${error.message}`, { file, type }, { cause: error });
    }
  }
  return checks;
}

/** A read-only storage over a fixed set of records: seeds the scratch registry. */
function snapshotStorage(records: StoredSchemaRecord[]): SchemaStorage {
  return {
    loadSchemas: async () => records,
    saveSchema: async () => undefined,
  };
}
