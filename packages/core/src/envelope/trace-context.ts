import { randomFillSync } from 'node:crypto';

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** True for a well-formed W3C `traceparent` (version 00, non-zero ids). */
export function isTraceparent(value: string): boolean {
  const m = TRACEPARENT.exec(value);
  return m !== null && !/^0+$/.test(m[1]!) && !/^0+$/.test(m[2]!);
}

// randomBytes costs a call into OpenSSL each time; on the per-event path that dominated the
// consumer's overhead. Draw ids from a pooled buffer, refilled 4 KiB at a time.
const pool = Buffer.alloc(4096);
let poolOffset = pool.length;

function randomHex(bytes: number): string {
  if (poolOffset + bytes > pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const hex = pool.toString('hex', poolOffset, poolOffset + bytes);
  poolOffset += bytes;
  return hex;
}

/**
 * A `traceparent` for a new event. With a parent it keeps the parent's trace id and opens
 * a new span id; without one it starts a new sampled root trace.
 */
export function childTraceparent(parent?: string): string {
  const span = randomHex(8);
  const m = parent === undefined ? null : TRACEPARENT.exec(parent);
  if (m) return `00-${m[1]}-${span}-${m[3]}`;
  return `00-${randomHex(16)}-${span}-01`;
}
