import { InvalidArgumentError, type SchemaChange } from '../errors/index.js';
import { readerCanRead, type JsonSchema } from './compatibility.js';

/**
 * Confluent Schema Registry's seven compatibility modes, with the same meaning:
 * - `BACKWARD`: the new schema can read data written with the latest one;
 * - `FORWARD`: the latest schema can read data written with the new one;
 * - `FULL`: both;
 * - `*_TRANSITIVE`: the same, against every earlier version rather than the latest only;
 * - `NONE`: no check.
 */
export type CompatibilityMode =
  | 'NONE'
  | 'BACKWARD'
  | 'BACKWARD_TRANSITIVE'
  | 'FORWARD'
  | 'FORWARD_TRANSITIVE'
  | 'FULL'
  | 'FULL_TRANSITIVE';

/** Every compatibility mode, in Confluent's documentation order. */
export const COMPATIBILITY_MODES: readonly CompatibilityMode[] = [
  'NONE',
  'BACKWARD',
  'BACKWARD_TRANSITIVE',
  'FORWARD',
  'FORWARD_TRANSITIVE',
  'FULL',
  'FULL_TRANSITIVE',
];

/** The registry's default mode, as in Confluent's. */
export const DEFAULT_COMPATIBILITY: CompatibilityMode = 'BACKWARD';

/** True when `value` names a compatibility mode (upper case, as Confluent spells them). */
export function isCompatibilityMode(value: unknown): value is CompatibilityMode {
  return COMPATIBILITY_MODES.includes(value as CompatibilityMode);
}

/** @throws InvalidArgumentError naming the allowed modes, for anything else. */
export function assertCompatibilityMode(
  value: unknown,
  name = 'compatibility',
): asserts value is CompatibilityMode {
  if (!isCompatibilityMode(value)) {
    throw new InvalidArgumentError(
      `${name} must be one of ${COMPATIBILITY_MODES.join(', ')}; got ${JSON.stringify(value) ?? String(value)}`,
      { [name]: String(value) },
    );
  }
}

/** A registered version of a subject, as the compatibility check sees it. */
export interface VersionedSchema {
  version: number;
  schema: JsonSchema;
}

/**
 * The changes that make `candidate` break `mode` against the `previous` versions of its
 * subject (in ascending order; the last is the latest). An empty list means compatible.
 * Changes are listed per earlier version, oldest first, and within a version backward
 * ones before forward ones; a change found in both directions (a type change) is listed once.
 */
export function compatibilityChanges(
  mode: CompatibilityMode,
  candidate: JsonSchema,
  previous: readonly VersionedSchema[],
): SchemaChange[] {
  if (mode === 'NONE' || previous.length === 0) return [];
  const against = mode.endsWith('_TRANSITIVE') ? previous : previous.slice(-1);
  const backward = !mode.startsWith('FORWARD');
  const forward = !mode.startsWith('BACKWARD');
  const changes: SchemaChange[] = [];
  for (const { version, schema } of against) {
    const found = [
      ...(backward ? readerCanRead(candidate, schema, 'newer') : []),
      ...(forward ? readerCanRead(schema, candidate, 'older') : []),
    ];
    const seen = new Set<string>();
    for (const change of found) {
      const key = `${change.kind}\u0000${change.path}\u0000${change.message}`;
      if (seen.has(key)) continue;
      seen.add(key);
      changes.push({ ...change, against: version });
    }
  }
  return changes;
}
