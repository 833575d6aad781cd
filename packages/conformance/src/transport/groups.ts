import { describe, expect } from 'vitest';
import { idsOf, interleavedEvents, keys, newGroup, newTopic, sleep } from './fixtures.js';
import { Ledger } from './ledger.js';
import type { TransportSuite } from './suite.js';

export function describeGroups(suite: TransportSuite): void {
  describe('consumer groups', () => {
    suite.test(
      'members of one group compete: 300 events over three connections are handled once each, and every member handles some',
      async () => {
        const topic = newTopic();
        const group = newGroup();
        const ledger = new Ledger();
        const members = ['a', 'b', 'c'];
        for (const member of members) {
          const connection = await suite.connect();
          await connection.subscribe(
            group,
            ledger.handler(member, async (delivery) => {
              // A little work per event, so no member can drain the queue before the others start.
              await sleep(1);
              await delivery.ack();
            }),
            { topics: [topic] },
          );
        }
        const events = interleavedEvents(topic, keys(30), 10);

        await (await suite.connect()).publish(events);
        await ledger.waitForAcked(idsOf(events), 15_000);
        await ledger.expectQuiet();

        ledger.expectEachAckedOnce(idsOf(events));
        const handledBy = new Set(ledger.acks.map((seen) => seen.member));
        expect([...handledBy].sort()).toEqual(members);
      },
    );

    suite.test(
      'every group receives every event: two groups each handle every event once',
      async () => {
        const topic = newTopic();
        const groups = [newGroup(), newGroup()];
        const ledgers = groups.map(() => new Ledger());
        for (const [i, group] of groups.entries()) {
          const connection = await suite.connect();
          await connection.subscribe(group, ledgers[i]!.handler(`member of ${group}`), {
            topics: [topic],
          });
        }
        const events = interleavedEvents(topic, keys(4), 5);

        await (await suite.connect()).publish(events);
        for (const ledger of ledgers) await ledger.waitForAcked(idsOf(events));
        await ledgers[0]!.expectQuiet();

        for (const [i, ledger] of ledgers.entries()) {
          ledger.expectEachAckedOnce(idsOf(events));
          expect(new Set(ledger.deliveries.map((seen) => seen.delivery.group))).toEqual(
            new Set([groups[i]]),
          );
        }
      },
    );
  });
}
