import { randomBytes } from 'node:crypto';

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** True for a well-formed W3C `traceparent` (version 00, non-zero ids). */
export function isTraceparent(value: string): boolean {
  const m = TRACEPARENT.exec(value);
  return m !== null && !/^0+$/.test(m[1]!) && !/^0+$/.test(m[2]!);
}

/**
 * A `traceparent` for a new event. With a parent it keeps the parent's trace id and opens
 * a new span id; without one it starts a new sampled root trace.
 */
export function childTraceparent(parent?: string): string {
  const span = randomBytes(8).toString('hex');
  const m = parent === undefined ? null : TRACEPARENT.exec(parent);
  if (m) return `00-${m[1]}-${span}-${m[3]}`;
  return `00-${randomBytes(16).toString('hex')}-${span}-01`;
}
