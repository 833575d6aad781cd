import { childPointer, displayPointer, isJsonObject } from './json-value.js';

/** Sub-schemas that describe the same location as their parent. */
const IN_PLACE = ['allOf', 'anyOf', 'oneOf'] as const;
const CONDITIONAL = ['then', 'else'] as const;

/**
 * The JSON Pointers, into `data`, of every value a schema marks `"x-pii": true`, sorted.
 * `*` stands for every item of an array or every value of a map (`additionalProperties`);
 * a marked object covers everything inside it, so its children are not listed. `$ref`s are
 * not followed: mark the property that uses a shared definition.
 */
export function findPiiPaths(schema: unknown): string[] {
  const found = new Set<string>();
  collect(schema, '', found);
  return [...found].sort();
}

function collect(schema: unknown, path: string, found: Set<string>): void {
  if (!isJsonObject(schema)) return;
  if (schema['x-pii'] === true) {
    found.add(displayPointer(path));
    return;
  }
  if (isJsonObject(schema.properties)) {
    for (const [name, sub] of Object.entries(schema.properties)) {
      collect(sub, childPointer(path, name), found);
    }
  }
  if (Array.isArray(schema.prefixItems)) {
    schema.prefixItems.forEach((sub, index) => collect(sub, childPointer(path, index), found));
  }
  collect(schema.items, childPointer(path, '*'), found);
  collect(schema.additionalProperties, childPointer(path, '*'), found);
  for (const keyword of IN_PLACE) {
    const subs = schema[keyword];
    if (Array.isArray(subs)) for (const sub of subs) collect(sub, path, found);
  }
  for (const keyword of CONDITIONAL) collect(schema[keyword], path, found);
}
