import { describe, expect, it } from 'vitest';
import {
  createSchemaRegistry,
  upcast,
  type CloudEvent,
  type StoredEvent,
} from '../../src/index.js';
import { context, event } from './fixtures.js';

describe('upcast middleware', () => {
  it('hands the handler the latest version', async () => {
    const registry = await createSchemaRegistry();
    const object = (properties: Record<string, unknown>) => ({ type: 'object', properties });
    await registry.register('test.thing.happened.v1', object({ cents: { type: 'integer' } }));
    await registry.register(
      'test.thing.happened.v2',
      object({ cents: { type: 'integer' }, currency: { type: 'string' } }),
      {
        compatibility: 'NONE',
      },
    );
    registry.registerUpcaster('test.thing.happened.v1', (data: { cents: number }) => ({
      ...data,
      currency: 'EUR',
    }));
    const seen: CloudEvent[] = [];
    const original = {
      ...event('order-1', { cents: 5 }),
      streamversion: 0,
      position: '1',
    } as StoredEvent;
    await upcast(registry)(async (e) => {
      seen.push(e);
    })(original, context(original));
    expect(seen.map((e) => [e.type, e.data])).toEqual([
      ['test.thing.happened.v2', { cents: 5, currency: 'EUR' }],
    ]);
    expect(original.type).toBe('test.thing.happened.v1');
  });
});
