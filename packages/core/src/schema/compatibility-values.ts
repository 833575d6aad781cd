/**
 * The comparisons at one schema location that do not descend into sub-schemas: type,
 * enum/const, and the other constraints compared by equality. `readerCanRead` states the rules.
 */
import { report, type DiffContext } from './diff-context.js';
import { jsonEqual, type JsonObject } from './json-value.js';

/**
 * Keywords the diff understands structurally. Every other keyword that is not an annotation
 * is a constraint compared by equality: changed in the reader means "possibly breaking".
 */
const ANALYSED = new Set([
  'type',
  'enum',
  'const',
  'properties',
  'required',
  'additionalProperties',
  'items',
  'minimum',
  'exclusiveMinimum',
  'maximum',
  'exclusiveMaximum',
  'minLength',
  'maxLength',
  'minItems',
  'maxItems',
  'minProperties',
  'maxProperties',
]);

/** Keywords that never reject a value, so a change to them breaks nothing. */
const ANNOTATIONS = new Set([
  '$schema',
  '$id',
  '$anchor',
  '$dynamicAnchor',
  '$vocabulary',
  '$comment',
  'title',
  'description',
  'examples',
  'default',
  'deprecated',
  'readOnly',
  'writeOnly',
  'contentEncoding',
  'contentMediaType',
]);

// --- type -------------------------------------------------------------------------------

const ALL_TYPES = ['null', 'boolean', 'object', 'array', 'number', 'integer', 'string'];

/** The schema's `type` keyword as a set; `undefined` when it has none (any type). */
export function declaredTypes(schema: JsonObject): Set<string> | undefined {
  const type = schema.type;
  if (typeof type === 'string') return new Set([type]);
  return Array.isArray(type) ? new Set(type.map(String)) : undefined;
}

/** The types a schema admits: its `type`, narrowed by its `enum` or `const` values. */
export function effectiveTypes(schema: JsonObject): Set<string> | undefined {
  const declared = declaredTypes(schema);
  const values = allowedValues(schema);
  if (values === undefined) return declared;
  const fromValues = new Set(values.map(jsonTypeOf));
  return declared === undefined
    ? fromValues
    : new Set([...fromValues].filter((t) => accepts(declared, t)));
}

/** True when a value of JSON type `type` passes a `type` keyword of `types` (none: any). */
export function accepts(types: Set<string> | undefined, type: string): boolean {
  return types === undefined || types.has(type) || (type === 'integer' && types.has('number'));
}

/** True when a value admitted by `types` (none: any) can be of JSON type `type`. */
export function mayBe(types: Set<string> | undefined, type: string): boolean {
  return types === undefined || types.has(type);
}

function jsonTypeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function formatTypes(types: Set<string> | undefined): string {
  return types === undefined ? 'any' : [...types].join(' | ');
}

/** Report writer types the reader's `type` keyword rejects. */
export function compareTypes(
  reader: JsonObject,
  writerTypes: Set<string> | undefined,
  context: DiffContext,
): void {
  const readerTypes = declaredTypes(reader);
  if (readerTypes === undefined) return;
  const missing = (writerTypes === undefined ? ALL_TYPES : [...writerTypes]).filter(
    (t) => !accepts(readerTypes, t),
  );
  if (missing.length === 0) return;
  const [older, newer] =
    context.readerAge === 'newer' ? [writerTypes, readerTypes] : [readerTypes, writerTypes];
  const within = (inner: Set<string> | undefined, outer: Set<string> | undefined): boolean =>
    inner !== undefined && [...inner].every((t) => accepts(outer, t));
  const kind =
    context.readerAge === 'newer'
      ? within(newer, older)
        ? 'type-narrowed'
        : 'type-changed'
      : within(older, newer)
        ? 'type-widened'
        : 'type-changed';
  const verb = kind === 'type-changed' ? 'changed' : kind.slice('type-'.length);
  report(context, kind, `type ${verb} from ${formatTypes(older)} to ${formatTypes(newer)}`);
}

// --- enum and const ---------------------------------------------------------------------

/** The values `enum` or `const` allows; `undefined` when neither is present. */
function allowedValues(schema: JsonObject): unknown[] | undefined {
  if (Object.hasOwn(schema, 'const')) return [schema.const];
  return Array.isArray(schema.enum) ? schema.enum : undefined;
}

function formatValues(values: unknown[]): string {
  const shown = values.slice(0, 5).map((v) => JSON.stringify(v));
  return values.length > 5 ? `${shown.join(', ')} and ${values.length - 5} more` : shown.join(', ');
}

function without(values: unknown[], others: unknown[]): unknown[] {
  return values.filter((v) => !others.some((o) => jsonEqual(v, o)));
}

/** Report writer values the reader's `enum` or `const` rejects. */
export function compareValues(reader: JsonObject, writer: JsonObject, context: DiffContext): void {
  const readerValues = allowedValues(reader);
  if (readerValues === undefined) return;
  const writerValues = allowedValues(writer);
  if (writerValues === undefined) {
    if (context.readerAge === 'newer') {
      report(context, 'enum-added', `enum added: only ${formatValues(readerValues)} allowed`);
    } else {
      report(
        context,
        'enum-removed',
        `enum removed: ${formatValues(readerValues)} no longer enforced`,
      );
    }
    return;
  }
  if (without(writerValues, readerValues).length === 0) return;
  const [older, newer] =
    context.readerAge === 'newer' ? [writerValues, readerValues] : [readerValues, writerValues];
  const removed = without(older, newer);
  const added = without(newer, older);
  if (added.length === 0) {
    report(context, 'enum-narrowed', `enum narrowed: ${formatValues(removed)} no longer allowed`);
  } else if (removed.length === 0) {
    report(context, 'enum-widened', `enum widened: ${formatValues(added)} added`);
  } else {
    report(
      context,
      'enum-changed',
      `enum changed: ${formatValues(removed)} removed, ${formatValues(added)} added`,
    );
  }
}

// --- other constraints ------------------------------------------------------------------

function describeValue(value: unknown): string {
  return typeof value === 'object' && value !== null ? '' : ` ${JSON.stringify(value)}`;
}

/** Report constraints outside the analysed subset that the reader adds or changes. */
export function compareConstraints(
  reader: JsonObject,
  writer: JsonObject,
  context: DiffContext,
): void {
  for (const [keyword, value] of Object.entries(reader)) {
    if (ANALYSED.has(keyword) || ANNOTATIONS.has(keyword) || keyword.startsWith('x-')) continue;
    if (!Object.hasOwn(writer, keyword)) {
      if (context.readerAge === 'newer') {
        report(context, 'constraint-added', `${keyword}${describeValue(value)} added`);
      } else {
        report(context, 'constraint-removed', `${keyword}${describeValue(value)} removed`);
      }
    } else if (!jsonEqual(value, writer[keyword])) {
      const [older, newer] =
        context.readerAge === 'newer' ? [writer[keyword], value] : [value, writer[keyword]];
      const detail =
        describeValue(older) && describeValue(newer)
          ? ` from${describeValue(older)} to${describeValue(newer)}`
          : '';
      report(context, 'constraint-changed', `${keyword} changed${detail}`);
    }
  }
}
