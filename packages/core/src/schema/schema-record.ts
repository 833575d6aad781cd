import { InvalidSchemaError } from '../errors/index.js';
import { eventTypeOf } from '../envelope/index.js';
import type { StoredSchemaRecord } from '../event-store/event-store.js';
import { isCompatibilityMode, type CompatibilityMode } from './compatibility-mode.js';
import { deepFreeze, isJsonObject, jsonCopy, type JsonObject } from './json-value.js';
import { findPiiPaths } from './pii-paths.js';
import { isEventTypeBase, schemaIdOf } from './schema-id.js';

/** A registered schema version. Records are frozen: versions are immutable. */
export interface SchemaRecord {
  /** The full type, e.g. `treasury.contribution.approved.v2`. */
  readonly type: string;
  /** The type without its version, e.g. `treasury.contribution.approved`. */
  readonly base: string;
  readonly version: number;
  /** The schema version id, set as `dataschema`: `urn:eventfabric:schema:<base>:v<N>`. */
  readonly id: string;
  /** The JSON Schema (2020-12) of the event's `data`. */
  readonly schema: JsonObject;
  /** JSON Pointers into `data` of the values marked `"x-pii": true`; `*` is any item. */
  readonly piiPaths: readonly string[];
  /** The subject's compatibility mode when this version was registered. */
  readonly compatibility: CompatibilityMode;
  /** ISO 8601 time of registration. */
  readonly registeredAt: string;
}

/** The fields a record is built from: what storage holds. */
export interface SchemaRecordFields {
  base: string;
  version: number;
  schema: JsonObject;
  compatibility: CompatibilityMode;
  registeredAt: string;
}

/** Build the frozen record of a version. `schema` must already be a private copy. */
export function buildSchemaRecord(fields: SchemaRecordFields): SchemaRecord {
  const { base, version, schema, compatibility, registeredAt } = fields;
  return deepFreeze({
    type: eventTypeOf(base, version),
    base,
    version,
    id: schemaIdOf(base, version),
    schema: deepFreeze(schema),
    piiPaths: findPiiPaths(schema),
    compatibility,
    registeredAt,
  });
}

/** The shape a `SchemaStorage` persists. */
export function toStoredSchemaRecord(record: SchemaRecord): StoredSchemaRecord {
  return {
    base: record.base,
    version: record.version,
    schema: record.schema,
    compatibility: record.compatibility,
    registeredAt: record.registeredAt,
  };
}

/**
 * A private, JSON-only copy of a schema argument.
 * @throws InvalidSchemaError when it is not a JSON object.
 */
export function copySchema(schema: unknown, type: string): JsonObject {
  if (!isJsonObject(schema)) {
    throw new InvalidSchemaError(`${type}: a data schema must be a JSON object`, { type });
  }
  try {
    return jsonCopy(schema);
  } catch (error) {
    throw new InvalidSchemaError(
      `${type}: the schema is not plain JSON`,
      { type },
      { cause: error },
    );
  }
}

/**
 * Check a record read back from storage: storage is trusted to hold what the registry
 * saved, but a hand-edited database should fail loudly rather than half-load.
 * @throws InvalidSchemaError naming the record and the broken field.
 */
export function parseStoredSchemaRecord(raw: unknown): SchemaRecordFields {
  const record = isJsonObject(raw) ? raw : {};
  const name = `stored schema ${String(record.base)} v${String(record.version)}`;
  const fail = (problem: string): never => {
    throw new InvalidSchemaError(`${name}: ${problem}`, {
      base: String(record.base),
      version: String(record.version),
    });
  };
  if (!isEventTypeBase(record.base)) fail('base is not a conventional base type name');
  const version = record.version;
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1) {
    fail('version is not a positive integer');
  }
  if (!isJsonObject(record.schema)) fail('schema is not a JSON object');
  if (!isCompatibilityMode(record.compatibility)) fail('compatibility is not a known mode');
  if (typeof record.registeredAt !== 'string') fail('registeredAt is not a string');
  return {
    base: record.base as string,
    version: version as number,
    schema: jsonCopy(record.schema as JsonObject),
    compatibility: record.compatibility as CompatibilityMode,
    registeredAt: record.registeredAt as string,
  };
}
