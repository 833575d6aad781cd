import type { ValidateFunction } from 'ajv';
import { eventTypeOf } from '../envelope/index.js';
import { InvalidArgumentError, InvalidSchemaError } from '../errors/index.js';
import { createAjv } from '../json-schema/index.js';
import { jsonEqual, type JsonObject } from './json-value.js';
import {
  buildSchemaRecord,
  parseStoredSchemaRecord,
  type SchemaRecord,
  type SchemaRecordFields,
} from './schema-record.js';

/** A registered version with its validator, compiled once. */
export interface CompiledSchema {
  readonly record: SchemaRecord;
  readonly validate: ValidateFunction;
  /** `{ dataschema: id }`, made once so `validate` allocates nothing but the new event. */
  readonly stamp: Readonly<{ dataschema: string }>;
}

/**
 * The registered versions of a registry, compiled, indexed by base type and by full type.
 * It owns the registry's Ajv instance; it checks version order but not compatibility.
 */
export class CompiledSchemas {
  // One Ajv per registry: the `$id`s and compiled schemas of two registries never meet.
  private readonly ajv = createAjv();
  private readonly subjects = new Map<string, CompiledSchema[]>();
  private readonly byType = new Map<string, CompiledSchema>();

  /** The version registered under a full type, e.g. `a.b.c.v2`. */
  get(type: string): CompiledSchema | undefined {
    return this.byType.get(type);
  }

  /** The versions of a base type, v1 first. */
  versions(base: string): readonly CompiledSchema[] {
    return this.subjects.get(base) ?? [];
  }

  /** Every base type with a registered version, sorted. */
  bases(): string[] {
    return [...this.subjects.keys()].sort();
  }

  /**
   * The versions before `version`, which must be the next one of `base`.
   * @throws InvalidArgumentError naming the version expected instead
   */
  previousVersions(base: string, version: number, type: string): readonly CompiledSchema[] {
    const history = this.versions(base);
    if (version === history.length + 1) return history;
    const next = eventTypeOf(base, history.length + 1);
    throw new InvalidArgumentError(
      history.length === 0
        ? `cannot register ${type}: ${base} has no versions yet, so the first must be ${next}`
        : `cannot register ${type}: the latest version of ${base} is v${history.length}, so the next must be ${next}`,
      { type, latestVersion: history.length },
    );
  }

  /**
   * Compile a schema into this registry's Ajv. Call {@link discard} if it is then not added.
   * @throws InvalidSchemaError for a document that is not valid JSON Schema 2020-12, or
   *   whose `$id` another version already uses
   */
  compile(schema: JsonObject, type: string): ValidateFunction {
    // Ajv refuses a second schema with the same $id, and discarding the refused one would
    // also drop the first: catch the clash before compiling.
    const $id = typeof schema.$id === 'string' ? schema.$id.replace(/#$/, '') : undefined;
    if ($id !== undefined && (this.ajv.schemas[$id] ?? this.ajv.refs[$id]) !== undefined) {
      throw new InvalidSchemaError(
        `${type}: $id ${$id} is already used by another registered schema; give each version its own $id, or none`,
        { type, $id },
      );
    }
    try {
      return this.ajv.compile(schema);
    } catch (error) {
      this.discard(schema);
      throw new InvalidSchemaError(
        `${type}: not a valid JSON Schema 2020-12 document: ${(error as Error).message}`,
        { type },
        { cause: error },
      );
    }
  }

  /** Forget a compiled schema that was not added, so its `$id` stays free. */
  discard(schema: JsonObject): void {
    this.ajv.removeSchema(schema);
  }

  /** Make a version visible. The caller has checked it is the next one. */
  add(record: SchemaRecord, validate: ValidateFunction): void {
    const entry: CompiledSchema = {
      record,
      validate,
      stamp: Object.freeze({ dataschema: record.id }),
    };
    const history = this.subjects.get(record.base) ?? [];
    history.push(entry);
    this.subjects.set(record.base, history);
    this.byType.set(record.type, entry);
  }

  /**
   * Load records read from storage, in version order, without compatibility checks: each
   * passed its check when registered, perhaps under a mode since changed.
   * @returns the records added, in the order added
   * @throws InvalidSchemaError for a malformed record, a conflict, a gap or a compile error
   */
  restore(raw: readonly unknown[]): SchemaRecord[] {
    const records = raw
      .map(parseStoredSchemaRecord)
      .sort((a, b) => (a.base === b.base ? a.version - b.version : a.base < b.base ? -1 : 1));
    const added: SchemaRecord[] = [];
    for (const fields of records) {
      const current = this.versions(fields.base)[fields.version - 1];
      if (current !== undefined) {
        if (jsonEqual(current.record.schema, fields.schema)) continue;
        throw storedConflict(fields, 'is stored twice with different schemas');
      }
      if (fields.version !== this.versions(fields.base).length + 1) {
        throw storedConflict(fields, 'follows a version that is not stored');
      }
      const type = eventTypeOf(fields.base, fields.version);
      const validate = this.compile(fields.schema, `stored schema ${type}`);
      const record = buildSchemaRecord(fields);
      this.add(record, validate);
      added.push(record);
    }
    return added;
  }
}

function storedConflict(fields: SchemaRecordFields, problem: string): InvalidSchemaError {
  return new InvalidSchemaError(
    `stored schema ${eventTypeOf(fields.base, fields.version)} ${problem}`,
    { base: fields.base, version: fields.version },
  );
}
