/**
 * Helpers for the plain JSON values schemas are made of: structural equality, freezing,
 * copying and JSON Pointer building. Internal to the schema module.
 */

/** A JSON object: what a schema document and most sub-schemas are. */
export type JsonObject = { readonly [key: string]: unknown };

/** True for a non-null, non-array object. */
export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Structural equality of two JSON values. Object key order does not matter. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, i) => jsonEqual(item, b[i]));
  }
  if (Array.isArray(b)) return false;
  const aKeys = Object.keys(a);
  if (aKeys.length !== Object.keys(b).length) return false;
  return aKeys.every(
    (key) =>
      Object.hasOwn(b, key) &&
      jsonEqual((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]),
  );
}

/**
 * A deep copy made through JSON, so the result holds JSON values only (no `undefined`,
 * functions or class instances) and shares nothing with the input.
 * @throws Error for values JSON cannot hold (cycles, `BigInt`).
 */
export function jsonCopy<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** Freeze a JSON value and everything inside it, and return it. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/**
 * The JSON Pointer of a child of `parent`. The root is `''` here; callers show it as `/`,
 * the way `toIssues` does.
 */
export function childPointer(parent: string, segment: string | number): string {
  return `${parent}/${String(segment).replaceAll('~', '~0').replaceAll('/', '~1')}`;
}

/** A JSON Pointer for display: the root is `/`. */
export function displayPointer(pointer: string): string {
  return pointer === '' ? '/' : pointer;
}
