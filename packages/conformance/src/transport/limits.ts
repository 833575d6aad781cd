import { describe, expect } from 'vitest';
import { idsOf, interleavedEvents, keys, newGroup, newTopic, sleep } from './fixtures.js';
import { Ledger } from './ledger.js';
import type { TransportSuite } from './suite.js';

export function describeLimits(suite: TransportSuite): void {
  /**
   * One member with `limits` handles 40 events on 40 keys, each taking a few ms; returns the
   * most handlers that ran at once, counted from call to return.
   */
  async function mostAtOnce(limits: { concurrency?: number; prefetch?: number }): Promise<number> {
    const topic = newTopic();
    const ledger = new Ledger();
    let running = 0;
    let most = 0;
    const consumer = await suite.connect();
    await consumer.subscribe(
      newGroup(),
      ledger.handler('consumer', async (delivery) => {
        running++;
        most = Math.max(most, running);
        try {
          await sleep(5);
          await delivery.ack();
        } finally {
          running--;
        }
      }),
      { topics: [topic], ...limits },
    );
    const events = interleavedEvents(topic, keys(40), 1);

    await (await suite.connect()).publish(events);
    await ledger.waitForAcked(idsOf(events));

    ledger.expectEachAckedOnce(idsOf(events));
    return most;
  }

  describe('prefetch and concurrency', () => {
    // "Two do" too: a transport that ran one handler at a time would not honour concurrency.
    suite.test(
      'with concurrency 2, at most two handlers of one member run at once, and two do',
      async () => {
        expect(await mostAtOnce({ concurrency: 2 })).toBe(2);
      },
    );

    suite.test(
      'with prefetch 2 and concurrency 5, at most two deliveries of one member are unsettled at once',
      async () => {
        expect(await mostAtOnce({ prefetch: 2, concurrency: 5 })).toBe(2);
      },
    );
  });
}
