/** `<context>.<entity>.<past-tense-verb>.v<N>`: lower-case dotted, version from 1. */
export const EVENT_TYPE_PATTERN =
  /^[a-z][a-z0-9_-]*\.[a-z][a-z0-9_-]*\.[a-z][a-z0-9_-]*\.v[1-9][0-9]*$/;

/** The parts of a conventional event type name. */
export interface EventTypeName {
  /** The type without its version suffix, e.g. `treasury.contribution.approved`. */
  base: string;
  context: string;
  version: number;
}

/** True when `type` follows the naming rule. */
export function isConventionalEventType(type: string): boolean {
  return EVENT_TYPE_PATTERN.test(type);
}

/**
 * Split a type into base and version. Returns `undefined` for a name that does not follow
 * the rule (a foreign CloudEvents type such as `com.github.push`).
 */
export function parseEventType(type: string): EventTypeName | undefined {
  if (!EVENT_TYPE_PATTERN.test(type)) return undefined;
  const cut = type.lastIndexOf('.v');
  const base = type.slice(0, cut);
  return {
    base,
    context: base.slice(0, base.indexOf('.')),
    version: Number(type.slice(cut + 2)),
  };
}

/** Compose a type name from its base and version: `("a.b.c", 2)` → `a.b.c.v2`. */
export function eventTypeOf(base: string, version: number): string {
  return `${base}.v${version}`;
}
