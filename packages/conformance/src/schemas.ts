import {
  ValidationFailedError,
  type CloudEvent,
  type EventSchemas,
  type StoredEvent,
} from '@eventfabric/core';
import { describe, expect } from 'vitest';
import { expectError, expectLogUnchanged, logState } from './expectations.js';
import { idsOf, testEvent } from './fixtures.js';
import { recordSubscription } from './recorder.js';
import type { ConformanceSuite } from './suite.js';

const PRICE_V1 = 'conformance.price.set.v1';
const PRICE_V2 = 'conformance.price.set.v2';
const PRICE_V1_SCHEMA = 'urn:eventfabric:conformance:price.set:v1';

/**
 * Two versions of one event type, as a registry would hold them: v1 carries `{ euros }`,
 * v2 `{ cents }`, and an upcaster turns v1 into v2. The suite only checks that a store calls
 * `validate` on append and `upcast` on read; the registry itself has its own tests.
 */
const priceSchemas: EventSchemas = {
  validate(event: CloudEvent): CloudEvent {
    if (event.type !== PRICE_V1) return event;
    if (typeof (event.data as { euros?: unknown } | null)?.euros !== 'number') {
      throw new ValidationFailedError(
        `event ${event.id} does not match ${PRICE_V1}`,
        [{ path: '/data/euros', message: 'must be number', keyword: 'type' }],
        { eventId: event.id, type: event.type },
      );
    }
    return { ...event, dataschema: PRICE_V1_SCHEMA };
  },
  upcast(event: StoredEvent): StoredEvent {
    if (event.type !== PRICE_V1) return event;
    const { euros } = event.data as { euros: number };
    return { ...event, type: PRICE_V2, data: { cents: euros * 100 } };
  },
};

const price = (streamId: string, euros: unknown) =>
  testEvent(streamId, { type: PRICE_V1, data: { euros } });

export function describeSchemas(suite: ConformanceSuite): void {
  describe('schemas', () => {
    suite.test('append stores the event as the schemas validated it', async () => {
      const store = await suite.open({ schemas: priceSchemas });
      const event = price('product-1', 3);

      const result = await store.appendToStream('product-1', [event]);

      const [stored] = await store.readStream('product-1', { raw: true });
      expect(stored).toEqual({
        ...event,
        dataschema: PRICE_V1_SCHEMA,
        streamversion: 0,
        position: result.position,
      });
    });

    suite.test('data failing its schema is rejected with VALIDATION_FAILED', async () => {
      const store = await suite.open({ schemas: priceSchemas });
      await store.appendToStream('product-1', [price('product-1', 3)]);
      const before = await logState(store);
      const bad = price('product-1', 'three');

      await expectError(
        store.appendToStream('product-1', [price('product-1', 4), bad]),
        'VALIDATION_FAILED',
        {
          eventId: bad.id,
          type: PRICE_V1,
          issues: [{ path: '/data/euros', message: 'must be number', keyword: 'type' }],
        },
      );

      await expectLogUnchanged(store, before);
    });

    suite.test('reads return upcast events, or stored ones when raw', async () => {
      const store = await suite.open({ schemas: priceSchemas });
      const event = price('product-1', 3);
      await store.appendToStream('product-1', [event]);
      const upcast = { type: PRICE_V2, data: { cents: 300 } };
      const stored = { type: PRICE_V1, data: { euros: 3 } };

      expect(await store.readStream('product-1')).toMatchObject([upcast]);
      expect(await store.readStream('product-1', { raw: true })).toMatchObject([stored]);
      expect(await store.readAll()).toMatchObject([upcast]);
      expect(await store.readAll({ raw: true })).toMatchObject([stored]);
      expect(await store.readByCorrelation(event.id)).toMatchObject([upcast]);
      expect(await store.readByCorrelation(event.id, { raw: true })).toMatchObject([stored]);
    });

    suite.test('subscribers receive upcast events, or stored ones when raw', async () => {
      const store = await suite.open({ schemas: priceSchemas });
      const events = [price('product-1', 3), price('product-1', 4)];
      await store.appendToStream('product-1', [events[0]!]);
      const upcasting = recordSubscription(store);
      const raw = recordSubscription(store, { raw: true });
      await store.appendToStream('product-1', [events[1]!]);

      await Promise.all([upcasting.waitForCount(2), raw.waitForCount(2)]);

      expect(idsOf(upcasting.events)).toEqual(idsOf(events));
      expect(upcasting.events.map((e) => e.data)).toEqual([{ cents: 300 }, { cents: 400 }]);
      expect(raw.events.map((e) => e.data)).toEqual([{ euros: 3 }, { euros: 4 }]);
    });

    suite.test('aggregateStream folds upcast events', async () => {
      const store = await suite.open({ schemas: priceSchemas });
      await store.appendToStream('product-1', [price('product-1', 3), price('product-1', 4)]);

      const result = await store.aggregateStream('product-1', {
        initial: (): string[] => [],
        evolve: (seen, event) => [...seen, `${event.type} ${JSON.stringify(event.data)}`],
      });

      expect(result.state).toEqual([`${PRICE_V2} {"cents":300}`, `${PRICE_V2} {"cents":400}`]);
    });
  });
}
