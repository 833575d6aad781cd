import { boundDifferences } from './compatibility-bounds.js';
import {
  accepts,
  compareConstraints,
  compareTypes,
  compareValues,
  declaredTypes,
  effectiveTypes,
  mayBe,
} from './compatibility-values.js';
import { report, type DiffContext, type ReaderAge, type SchemaDifference } from './diff-context.js';
import { childPointer, isJsonObject, type JsonObject } from './json-value.js';

export type { ReaderAge, SchemaDifference } from './diff-context.js';

/** A JSON Schema document or sub-schema: an object, or `true` / `false`. */
export type JsonSchema = boolean | JsonObject;

/**
 * The changes that stop `reader` from accepting every value `writer` accepts: an empty list
 * means data written under `writer` validates under `reader`.
 *
 * The comparison is structural over the common subset of JSON Schema (type, enum, const,
 * properties, required, additionalProperties, items, numeric and length bounds) and
 * conservative elsewhere: any other assertion keyword the reader adds or changes is reported
 * as a `constraint-*` change. One rule is an assumption rather than a proof: a writer is taken
 * to emit only the properties it declares (in `properties`, or through an
 * `additionalProperties` sub-schema), even when its schema leaves the object open. Without
 * it, adding any optional property to an open schema would be a breaking change.
 *
 * @param readerAge whether `reader` is the newer version (a BACKWARD check) or the older one
 *   (a FORWARD check); it only decides how changes are named.
 */
export function readerCanRead(
  reader: JsonSchema,
  writer: JsonSchema,
  readerAge: ReaderAge = 'newer',
): SchemaDifference[] {
  const out: SchemaDifference[] = [];
  compare(reader, writer, { path: '', place: 'data', readerAge, out });
  return out;
}

function compare(reader: JsonSchema, writer: JsonSchema, context: DiffContext): void {
  if (reader === true || writer === false) return;
  if (reader === false) {
    if (context.readerAge === 'newer') {
      report(context, 'type-narrowed', 'no value is allowed any more');
    } else {
      report(context, 'type-widened', 'values are allowed where none were');
    }
    return;
  }
  const writerSchema: JsonObject = writer === true ? {} : writer;
  const writerTypes = effectiveTypes(writerSchema);
  compareTypes(reader, writerTypes, context);
  compareValues(reader, writerSchema, context);
  boundDifferences(reader, writerSchema, context);
  compareConstraints(reader, writerSchema, context);
  if (mayBe(writerTypes, 'object') && accepts(declaredTypes(reader), 'object')) {
    compareObjects(reader, writerSchema, context);
  }
  if (mayBe(writerTypes, 'array') && accepts(declaredTypes(reader), 'array')) {
    const child = { ...context, path: childPointer(context.path, '*'), place: 'items' as const };
    compare(asSchema(reader.items), asSchema(writerSchema.items), child);
  }
}

// --- objects ----------------------------------------------------------------------------

/** Marks a property the writer never emits. */
const ABSENT = Symbol('absent');

function asSchema(value: unknown): JsonSchema {
  return typeof value === 'boolean' || isJsonObject(value) ? value : true;
}

function propertiesOf(schema: JsonObject): JsonObject {
  return isJsonObject(schema.properties) ? schema.properties : {};
}

function requiredOf(schema: JsonObject): Set<string> {
  return new Set(Array.isArray(schema.required) ? schema.required.map(String) : []);
}

function compareObjects(reader: JsonObject, writer: JsonObject, context: DiffContext): void {
  const readerProps = propertiesOf(reader);
  const writerProps = propertiesOf(writer);
  const readerRequired = requiredOf(reader);
  const writerRequired = requiredOf(writer);
  const readerExtra = asSchema(reader.additionalProperties);
  // Only an additionalProperties sub-schema declares extra properties the writer emits
  // (a map); `true` or no keyword just leaves the object open. See readerCanRead.
  const writerExtra = isJsonObject(writer.additionalProperties)
    ? writer.additionalProperties
    : undefined;
  const names = new Set([
    ...Object.keys(readerProps),
    ...Object.keys(writerProps),
    ...readerRequired,
  ]);
  const newer = context.readerAge === 'newer';
  for (const name of names) {
    const child: DiffContext = {
      ...context,
      path: childPointer(context.path, name),
      place: 'property',
    };
    const writerDeclares = Object.hasOwn(writerProps, name);
    const w = writerDeclares ? asSchema(writerProps[name]) : (writerExtra ?? ABSENT);
    const r = Object.hasOwn(readerProps, name) ? asSchema(readerProps[name]) : readerExtra;
    if (readerRequired.has(name) && !writerRequired.has(name)) {
      if (newer && writerDeclares) {
        report(child, 'property-made-required', 'changed from optional to required');
      } else if (newer) {
        report(child, 'property-added-required', 'added as required');
      } else if (writerDeclares) {
        report(child, 'property-made-optional', 'changed from required to optional');
      } else {
        report(child, 'property-removed', 'removed, but the old schema requires it');
      }
    }
    if (w === ABSENT || w === false) continue;
    if (r === false) {
      if (newer) {
        report(child, 'property-removed', 'removed, and the new schema does not allow it');
      } else {
        report(child, 'property-added', 'added, but the old schema does not allow it');
      }
      continue;
    }
    compare(r, w, child);
  }
  if (writerExtra === undefined) return;
  if (readerExtra === false) {
    if (newer) {
      report(
        context,
        'additional-properties-disallowed',
        'additional properties no longer allowed',
      );
    } else {
      report(
        context,
        'additional-properties-allowed',
        'additional properties allowed, but the old schema does not allow them',
      );
    }
    return;
  }
  const values = { ...context, path: childPointer(context.path, '*'), place: 'values' as const };
  compare(readerExtra, writerExtra, values);
}
