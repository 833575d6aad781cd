import { InvalidArgumentError } from '../errors/index.js';
import { parseEventType, type EventTypeName } from '../envelope/index.js';

/** The prefix of every schema version id: `urn:eventfabric:schema:<base>:v<N>`. */
export const SCHEMA_ID_PREFIX = 'urn:eventfabric:schema:';

const SCHEMA_ID_PATTERN = /^urn:eventfabric:schema:([^:]+):v([1-9][0-9]*)$/;

/**
 * The id of a schema version, set as an event's `dataschema`:
 * `("treasury.contribution.approved", 2)` → `urn:eventfabric:schema:treasury.contribution.approved:v2`.
 * A URN, so it is a valid absolute URI (CloudEvents requires `dataschema` to be one) without
 * implying that anything can be fetched from it.
 */
export function schemaIdOf(base: string, version: number): string {
  return `${SCHEMA_ID_PREFIX}${base}:v${version}`;
}

/** Split a schema version id into base and version; `undefined` for anything else. */
export function parseSchemaId(id: string): { base: string; version: number } | undefined {
  const match = SCHEMA_ID_PATTERN.exec(id);
  if (match === null) return undefined;
  const base = match[1]!;
  const version = Number(match[2]);
  // The base must be one a conventional type name could have.
  return parseEventType(`${base}.v${version}`)?.base === base ? { base, version } : undefined;
}

/** True when `base` is a conventional type name without its version, e.g. `a.b.c`. */
export function isEventTypeBase(base: unknown): base is string {
  return typeof base === 'string' && parseEventType(`${base}.v1`)?.base === base;
}

/**
 * Parse a type the registry can hold a schema for.
 * @throws InvalidArgumentError for a non-string or a name that breaks the naming rule.
 */
export function parseRegistrableType(type: unknown): EventTypeName {
  const name = typeof type === 'string' ? parseEventType(type) : undefined;
  if (name === undefined) {
    throw new InvalidArgumentError(
      `schema type must look like <context>.<entity>.<verb>.v<N> (lower-case), got ${JSON.stringify(type) ?? String(type)}`,
      { type: typeof type === 'string' ? type : String(type) },
    );
  }
  return name;
}

/**
 * Check a base type name argument.
 * @throws InvalidArgumentError for anything but a conventional base such as `a.b.c`.
 */
export function assertEventTypeBase(base: unknown): asserts base is string {
  if (!isEventTypeBase(base)) {
    throw new InvalidArgumentError(
      `base type must look like <context>.<entity>.<verb> (lower-case, no version), got ${JSON.stringify(base) ?? String(base)}`,
      { base: typeof base === 'string' ? base : String(base) },
    );
  }
}
