import { describe, expect } from 'vitest';
import {
  idsOf,
  interleavedEvents,
  keyedEvent,
  keys,
  newGroup,
  newTopic,
  newTopicPrefix,
} from './fixtures.js';
import { Ledger } from './ledger.js';
import type { TransportSuite } from './suite.js';

export function describePublishSubscribe(suite: TransportSuite): void {
  describe('publish and subscribe', () => {
    suite.test(
      'events published while a group has no running member reach it once a member subscribes, each once, with deliveryCount 1 and the event as published',
      async () => {
        const topic = newTopic();
        const group = newGroup();
        const ledger = new Ledger();
        const publisher = await suite.connect();
        // A first member declares the group, then leaves it with nobody running.
        const declaring = await publisher.subscribe(group, ledger.handler('declaring'), {
          topics: [topic],
        });
        await declaring.close();
        const events = interleavedEvents(topic, keys(3), 4);

        const result = await publisher.publish(events);
        const consumer = await suite.connect();
        await consumer.subscribe(group, ledger.handler('consumer'), { topics: [topic] });
        await ledger.waitForAcked(idsOf(events));
        await ledger.expectQuiet();

        expect(result.positions).toHaveLength(events.length);
        for (const position of result.positions) {
          expect(['string', 'undefined']).toContain(typeof position);
        }
        ledger.expectEachAckedOnce(idsOf(events));
        expect(ledger.deliveries.map((seen) => seen.member)).toEqual(events.map(() => 'consumer'));
        for (const event of events) {
          const [seen, ...again] = ledger.deliveriesOf(event.id);
          expect(again).toEqual([]);
          expect(seen!.deliveryCount).toBe(1);
          expect(seen!.delivery.event).toEqual(event);
          expect(seen!.delivery.group).toBe(group);
          expect(seen!.delivery.origin).toMatch(/./);
        }
      },
    );

    suite.test(
      'events published after a member subscribed are delivered live, each once',
      async () => {
        const topic = newTopic();
        const group = newGroup();
        const ledger = new Ledger();
        const consumer = await suite.connect();
        await consumer.subscribe(group, ledger.handler('consumer'), { topics: [topic] });
        const publisher = await suite.connect();
        const single = keyedEvent(topic, 'item-1', 0);
        const batch = interleavedEvents(topic, keys(2), 3);

        await publisher.publish([single]);
        await ledger.waitForAcked([single.id]);
        await publisher.publish(batch);
        await ledger.waitForAcked(idsOf(batch));
        await ledger.expectQuiet();

        ledger.expectEachAckedOnce(idsOf([single, ...batch]));
        expect(ledger.deliveries.map((seen) => seen.deliveryCount)).toEqual(
          [single, ...batch].map(() => 1),
        );
        expect(ledger.deliveriesOf(single.id)[0]!.delivery.event).toEqual(single);
      },
    );

    suite.test(
      'a group subscribing for the first time receives the events published before it existed',
      async () => {
        const topic = newTopic();
        const publisher = await suite.connect();
        const events = interleavedEvents(topic, keys(2), 5);
        await publisher.publish(events);

        const ledger = new Ledger();
        const consumer = await suite.connect();
        await consumer.subscribe(newGroup(), ledger.handler('late'), { topics: [topic] });
        await ledger.waitForAcked(idsOf(events));
        await ledger.expectQuiet();

        ledger.expectEachAckedOnce(idsOf(events));
        expect(ledger.deliveries.map((seen) => seen.deliveryCount)).toEqual(events.map(() => 1));
      },
      { needs: 'persistent' },
    );

    suite.test('a group receives exactly the event types its topic patterns match', async () => {
      const prefix = newTopicPrefix();
      const [happened, changed, happenedV2] = [
        `${prefix}.happened.v1`,
        `${prefix}.changed.v1`,
        `${prefix}.happened.v2`,
      ];
      const patterns: Record<string, string[]> = {
        exact: [happened],
        trailing: [`${prefix}.*`],
        middle: [`${prefix}.*.v2`],
        several: [happened, changed],
      };
      const ledgers = new Map<string, Ledger>();
      const consumer = await suite.connect();
      for (const [name, topics] of Object.entries(patterns)) {
        const ledger = new Ledger();
        ledgers.set(name, ledger);
        await consumer.subscribe(newGroup(), ledger.handler(name), { topics });
      }
      const events = [happened, changed, happenedV2].map((type) => keyedEvent(type, 'item-1', 0));
      const [e1, e2, e3] = idsOf(events);

      await (await suite.connect()).publish(events);
      const expected: Record<string, string[]> = {
        exact: [e1!],
        trailing: [e1!, e2!, e3!],
        middle: [e3!],
        several: [e1!, e2!],
      };
      for (const [name, ids] of Object.entries(expected)) {
        await ledgers.get(name)!.waitForAcked(ids);
      }
      await ledgers.get('trailing')!.expectQuiet();

      for (const [name, ids] of Object.entries(expected)) {
        ledgers.get(name)!.expectEachAckedOnce(ids);
      }
    });
  });
}
