import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as core from '../src/index.js';

const doc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
const documented = [...doc.matchAll(/^\| `([A-Z_]+)` \| `(\w+)` \|/gm)].map((m) => ({
  code: m[1]!,
  cls: m[2]!,
}));

describe('error catalogue', () => {
  it('documents every code in docs/errors.md, and nothing else', () => {
    expect(documented.map((d) => d.code).sort()).toEqual(Object.values(core.ErrorCodes).sort());
  });

  it('names for each code an exported class that extends EventFabricError', () => {
    for (const { cls } of documented) {
      const ctor = (core as Record<string, unknown>)[cls];
      expect(typeof ctor, cls).toBe('function');
      expect((ctor as { prototype: unknown }).prototype instanceof core.EventFabricError, cls).toBe(
        true,
      );
    }
  });

  it('keeps code, details and cause on a chained error', () => {
    const cause = new Error('disk full');
    const error = new core.StoreUnavailableError('cannot write', { path: '/x' }, { cause });
    expect(error.code).toBe('STORE_UNAVAILABLE');
    expect(error.name).toBe('StoreUnavailableError');
    expect(error.cause).toBe(cause);
    expect(error.toJSON()).toEqual({
      code: 'STORE_UNAVAILABLE',
      message: 'cannot write',
      details: { path: '/x' },
    });
    expect(core.isEventFabricError(error, 'STORE_UNAVAILABLE')).toBe(true);
    expect(core.isEventFabricError(cause)).toBe(false);
  });
});
