import type { CloudEvent } from '@eventfabric/core';
import { describe, expect } from 'vitest';
import {
  idsByKey,
  idsOf,
  interleavedEvents,
  keyedEvent,
  keys,
  newGroup,
  newTopic,
  sleep,
} from './fixtures.js';
import { ackedByKey, deliveredByKey, KeyOverlap } from './key-overlap.js';
import { Ledger } from './ledger.js';
import type { TransportSuite } from './suite.js';

export function describeOrdering(suite: TransportSuite): void {
  describe('order per partition key', () => {
    suite.test(
      'with concurrency 8, the events of each key are handled one at a time in publish order',
      async () => {
        const topic = newTopic();
        const events = interleavedEvents(topic, keys(3), 30);
        const ledger = new Ledger();
        const overlap = new KeyOverlap();
        const consumer = await suite.connect();
        await consumer.subscribe(
          newGroup(),
          ledger.handler(
            'consumer',
            overlap.track(async (delivery) => {
              await sleep(Math.floor(Math.random() * 4));
              await delivery.ack();
            }),
          ),
          { topics: [topic], concurrency: 8 },
        );
        const publisher = await suite.connect();

        for (let i = 0; i < events.length; i += 10)
          await publisher.publish(events.slice(i, i + 10));
        await ledger.waitForAcked(idsOf(events));
        await ledger.expectQuiet();

        ledger.expectEachAckedOnce(idsOf(events));
        expect(deliveredByKey(ledger.deliveries)).toEqual(idsByKey(events));
        expect(ackedByKey(ledger)).toEqual(idsByKey(events));
        expect(overlap.overlaps).toEqual([]);
      },
      { needs: 'guaranteedOrder' },
    );

    /**
     * Key `item-0` has five events; its second is nacked on its first delivery. The rest of
     * the key must wait for it, and key `item-1` must not.
     */
    async function nackedKeyScenario(delayMs: number | undefined): Promise<{
      ledger: Ledger;
      events: CloudEvent[];
      held: CloudEvent;
      other: CloudEvent[];
    }> {
      const topic = newTopic();
      const blocked = Array.from({ length: 5 }, (_, n) => keyedEvent(topic, 'item-0', n));
      const other = Array.from({ length: 5 }, (_, n) => keyedEvent(topic, 'item-1', n));
      const held = blocked[1]!;
      const events = [...blocked, ...other];
      const ledger = new Ledger();
      const overlap = new KeyOverlap();
      const consumer = await suite.connect();
      await consumer.subscribe(
        newGroup(),
        ledger.handler(
          'consumer',
          overlap.track(async (delivery, seen) => {
            if (delivery.event.id === held.id && seen.timesSeen === 1) {
              await delivery.nack(delayMs === undefined ? undefined : { delayMs });
            } else {
              await delivery.ack();
            }
          }),
        ),
        { topics: [topic], concurrency: 4 },
      );

      await (await suite.connect()).publish(events);
      await ledger.waitForAcked(idsOf(events), (delayMs ?? 0) + 5000);
      await ledger.expectQuiet();

      ledger.expectEachAckedOnce(idsOf(events));
      expect(deliveredByKey(ledger.deliveries).get('item-0')).toEqual(
        idsOf([blocked[0]!, held, ...blocked.slice(1)]),
      );
      expect(ackedByKey(ledger)).toEqual(idsByKey(events));
      expect(overlap.overlaps).toEqual([]);
      return { ledger, events, held, other };
    }

    suite.test(
      'a nacked event is redelivered before the later events of its key',
      async () => {
        await nackedKeyScenario(undefined);
      },
      { needs: 'guaranteedOrder' },
    );

    suite.test(
      'the later events of a key wait behind its event nacked with a delay, while other keys flow',
      async () => {
        const { ledger, held, other } = await nackedKeyScenario(300);

        const redelivered = ledger.deliveriesOf(held.id)[1]!.at;
        const otherDone = Math.max(...other.map((event) => ledger.deliveriesOf(event.id)[0]!.at));
        expect(otherDone, 'the other key was handled while the nacked event waited').toBeLessThan(
          redelivered,
        );
      },
      { needs: ['guaranteedOrder', 'nackDelay'] },
    );
  });
}
