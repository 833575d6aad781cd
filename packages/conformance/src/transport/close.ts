import { describe, expect } from 'vitest';
import {
  idsOf,
  interleavedEvents,
  keyedEvent,
  keys,
  newGroup,
  newTopic,
  sleep,
} from './fixtures.js';
import { Ledger, type Handle, type Seen } from './ledger.js';
import type { TransportSuite } from './suite.js';

const by =
  (member: string) =>
  (seen: Seen): boolean =>
    seen.member === member;

export function describeClose(suite: TransportSuite): void {
  describe('close', () => {
    suite.test(
      'closing a subscription or a transport twice, at once or in turn, resolves every time, and nothing is delivered after',
      async () => {
        const topic = newTopic();
        const ledger = new Ledger();
        const first = await suite.connect();
        const subscription = await first.subscribe(newGroup(), ledger.handler('first'), {
          topics: [topic],
        });
        const second = await suite.connect();
        const closedWithItsTransport = await second.subscribe(
          newGroup(),
          ledger.handler('second'),
          { topics: [topic] },
        );

        await Promise.all([subscription.close(), subscription.close()]);
        await subscription.close();
        await Promise.all([first.close(), first.close()]);
        await first.close();
        await second.close();
        await closedWithItsTransport.close();
        await second.close();
        await (await suite.connect()).publish([keyedEvent(topic, 'item-1', 0)]);
        await ledger.expectQuiet();

        expect(ledger.deliveries).toEqual([]);
      },
    );

    suite.test(
      'a member carries on after another member of its group closes, and each event is handled once',
      async () => {
        const topic = newTopic();
        const group = newGroup();
        const ledger = new Ledger();
        const handle: Handle = async (delivery) => {
          await sleep(2);
          await delivery.ack();
        };
        const a = await (
          await suite.connect()
        ).subscribe(group, ledger.handler('a', handle), {
          topics: [topic],
        });
        await (
          await suite.connect()
        ).subscribe(group, ledger.handler('b', handle), {
          topics: [topic],
        });
        const events = interleavedEvents(topic, keys(20), 5);

        await (await suite.connect()).publish(events);
        await ledger.waitUntil(
          () => ledger.acks.filter(by('a')).length >= 10,
          'A to ack 10 events',
        );
        await a.close();
        const deliveredToA = ledger.deliveries.filter(by('a')).length;
        const acksAtClose = ledger.acks.length;
        await ledger.waitForAcked(idsOf(events));
        await ledger.expectQuiet();

        expect(ledger.deliveries.filter(by('a')), 'deliveries to A after its close').toHaveLength(
          deliveredToA,
        );
        expect(
          ledger.acks.slice(acksAtClose).filter(by('b')).length,
          'events B acked after A closed',
        ).toBeGreaterThan(0);
        ledger.expectEachAckedOnce(idsOf(events));
        // Only what A held unsettled when it closed may have been delivered twice.
        const ackedByA = new Set(ledger.acks.filter(by('a')).map((seen) => seen.id));
        const unsettledByA = new Set(
          ledger.deliveries
            .filter((seen) => seen.member === 'a' && !ackedByA.has(seen.id))
            .map((seen) => seen.id),
        );
        const twice = idsOf(events).filter((id) => ledger.deliveriesOf(id).length > 1);
        expect(twice.filter((id) => !unsettledByA.has(id))).toEqual([]);
      },
    );

    suite.test(
      'closing a transport waits for its handler in flight, whose ack then holds, and starts no new handler meanwhile',
      async () => {
        const topic = newTopic();
        const group = newGroup();
        const ledger = new Ledger();
        const a = await suite.connect();
        await a.subscribe(
          group,
          ledger.handler('a', async (delivery) => {
            await sleep(100);
            await delivery.ack();
          }),
          // A free slot while it drains: the closing member must still take nothing new.
          { topics: [topic], concurrency: 2 },
        );
        const [x, y] = [keyedEvent(topic, 'item-1', 0), keyedEvent(topic, 'item-2', 0)];
        const publisher = await suite.connect();
        await publisher.publish([x]);
        await ledger.waitUntil(() => ledger.deliveries.length === 1, 'A to receive X');
        await (await suite.connect()).subscribe(group, ledger.handler('b'), { topics: [topic] });

        const closing = a.close();
        await publisher.publish([y]);
        await closing;
        const ackedByAAtClose = ledger.acks.filter(by('a')).map((seen) => seen.id);
        await ledger.waitForAcked([y.id]);
        await ledger.expectQuiet();

        expect(ackedByAAtClose).toEqual([x.id]);
        expect(ledger.deliveries.map((seen) => `${seen.member} ${seen.id}`)).toEqual([
          `a ${x.id}`,
          `b ${y.id}`,
        ]);
        ledger.expectEachAckedOnce([x.id, y.id]);
      },
    );
  });
}
