import type { CloudEvent, Delivery } from '@eventfabric/core';
import { describe, expect } from 'vitest';
import { gate, idsOf, keyedEvent, newGroup, newTopic } from './fixtures.js';
import { Ledger, type Handle } from './ledger.js';
import type { TransportSuite } from './suite.js';

/** Three events on three keys; the middle one is the one a test mistreats. */
function threeEvents(topic: string): { events: CloudEvent[]; target: CloudEvent } {
  const events = ['item-1', 'item-2', 'item-3'].map((key) => keyedEvent(topic, key, 0));
  return { events, target: events[1]! };
}

export function describeRedelivery(suite: TransportSuite): void {
  /**
   * Deliver three events to one member whose `firstTime` handling of the target does not ack
   * it; assert that the target comes back once, counted 2, and that all end acked once.
   */
  function redelivers(name: string, firstTime: (delivery: Delivery) => Promise<void>): void {
    suite.test(name, async () => {
      const topic = newTopic();
      const { events, target } = threeEvents(topic);
      const ledger = new Ledger();
      const handle: Handle = (delivery, seen) =>
        delivery.event.id === target.id && seen.timesSeen === 1
          ? firstTime(delivery)
          : delivery.ack();
      const consumer = await suite.connect();
      await consumer.subscribe(newGroup(), ledger.handler('consumer', handle), {
        topics: [topic],
      });

      await (await suite.connect()).publish(events);
      await ledger.waitForAcked(idsOf(events));
      await ledger.expectQuiet();

      expect(ledger.deliveriesOf(target.id).map((seen) => seen.deliveryCount)).toEqual([1, 2]);
      for (const other of events.filter((event) => event !== target)) {
        expect(ledger.deliveriesOf(other.id).map((seen) => seen.deliveryCount)).toEqual([1]);
      }
      ledger.expectEachAckedOnce(idsOf(events));
    });
  }

  describe('redelivery', () => {
    redelivers(
      'a nacked delivery comes back with deliveryCount 2 and is handled once in the end',
      (delivery) => delivery.nack(),
    );
    redelivers('a handler that throws has its delivery redelivered, as after a nack', () =>
      Promise.reject(new Error('the handler failed on purpose')),
    );
    redelivers(
      'a handler that returns without settling has its delivery redelivered, as after a nack',
      async () => {},
    );

    suite.test('settling a delivery twice is a no-op: the first of ack and nack wins', async () => {
      const topic = newTopic();
      const [ackedFirst, nackedFirst] = [
        keyedEvent(topic, 'item-1', 0),
        keyedEvent(topic, 'item-2', 0),
      ];
      const ledger = new Ledger();
      const consumer = await suite.connect();
      await consumer.subscribe(
        newGroup(),
        ledger.handler('consumer', async (delivery, seen) => {
          if (seen.timesSeen > 1) return delivery.ack();
          if (delivery.event.id === ackedFirst.id) {
            await delivery.ack();
            await delivery.nack();
          } else {
            await delivery.nack();
            await delivery.ack();
          }
        }),
        { topics: [topic] },
      );

      await (await suite.connect()).publish([ackedFirst, nackedFirst]);
      await ledger.waitUntil(
        () => ledger.deliveriesOf(nackedFirst.id).length === 2,
        'the event nacked first to come back',
      );
      await ledger.waitForAcked([nackedFirst.id]);
      await ledger.expectQuiet();

      expect(ledger.deliveriesOf(ackedFirst.id).map((seen) => seen.deliveryCount)).toEqual([1]);
      expect(ledger.deliveriesOf(nackedFirst.id).map((seen) => seen.deliveryCount)).toEqual([1, 2]);
    });

    describeCrash(suite);
    describeNackDelay(suite);
  });
}

/** The drain timeout of a connection the suite "crashes": short, so close abandons quickly. */
const CRASH_DRAIN_MS = 200;

function describeCrash(suite: TransportSuite): void {
  /**
   * Member A hangs on event X; A's connection closes (its drain gives up after
   * {@link CRASH_DRAIN_MS}); member B, on another connection, must get X and ack it.
   */
  async function crashScenario(): Promise<{ ledger: Ledger; x: CloudEvent; closeTookMs: number }> {
    const topic = newTopic();
    const group = newGroup();
    const ledger = new Ledger();
    const hung = gate();
    try {
      const a = await suite.connect({ drainTimeoutMs: CRASH_DRAIN_MS });
      // A never settles X: the handler waits until the test ends, as a stuck process would.
      await a.subscribe(
        group,
        ledger.handler('a', () => hung.opened),
        { topics: [topic] },
      );
      const x = keyedEvent(topic, 'item-1', 0);
      await (await suite.connect()).publish([x]);
      await ledger.waitUntil(() => ledger.deliveries.length === 1, 'member A to receive X');
      const b = await suite.connect();
      await b.subscribe(group, ledger.handler('b'), { topics: [topic] });

      const started = Date.now();
      await a.close();
      const closeTookMs = Date.now() - started;
      await ledger.waitForAcked([x.id]);
      hung.open();
      await ledger.expectQuiet();
      return { ledger, x, closeTookMs };
    } finally {
      hung.open();
    }
  }

  suite.test(
    'a delivery left unsettled by a member whose connection closes goes to another member of the group',
    async () => {
      const { ledger, x, closeTookMs } = await crashScenario();

      expect(ledger.deliveriesOf(x.id).map((seen) => seen.member)).toEqual(['a', 'b']);
      expect(ledger.acks.map((seen) => seen.member)).toEqual(['b']);
      expect(closeTookMs, 'close() gave up on the stuck handler').toBeLessThan(
        CRASH_DRAIN_MS + 2000,
      );
    },
  );

  suite.test(
    'a delivery taken over from a member whose connection closed has deliveryCount 2 or more',
    async () => {
      const { ledger, x } = await crashScenario();

      const [first, second] = ledger.deliveriesOf(x.id);
      expect(first!.deliveryCount).toBe(1);
      expect(second!.deliveryCount).toBeGreaterThanOrEqual(2);
    },
    { needs: 'deliveryCountAcrossCrashes' },
  );
}

/** Timers may fire a little early by the clock tests read. */
const TIMER_SLACK_MS = 20;
/** How much later than asked a delayed redelivery may come. */
const LATE_MS = 2000;

function describeNackDelay(suite: TransportSuite): void {
  suite.test(
    'a nack with delayMs 300 is redelivered no sooner than 300 ms and at most 2 s later than that',
    async () => {
      const topic = newTopic();
      const x = keyedEvent(topic, 'item-1', 0);
      const ledger = new Ledger();
      let nackedAt = 0;
      const consumer = await suite.connect();
      await consumer.subscribe(
        newGroup(),
        ledger.handler('consumer', async (delivery, seen) => {
          if (seen.timesSeen > 1) return delivery.ack();
          nackedAt = Date.now();
          await delivery.nack({ delayMs: 300 });
        }),
        { topics: [topic] },
      );

      await (await suite.connect()).publish([x]);
      await ledger.waitForAcked([x.id], 300 + LATE_MS + 1000);
      await ledger.expectQuiet();

      const [first, second] = ledger.deliveriesOf(x.id);
      expect(ledger.deliveriesOf(x.id)).toHaveLength(2);
      expect(first!.deliveryCount).toBe(1);
      expect(second!.deliveryCount).toBe(2);
      const waited = second!.at - nackedAt;
      expect(waited, 'ms between the nack and the redelivery').toBeGreaterThanOrEqual(
        300 - TIMER_SLACK_MS,
      );
      expect(waited, 'ms between the nack and the redelivery').toBeLessThanOrEqual(300 + LATE_MS);
    },
    { needs: 'nackDelay' },
  );

  suite.test(
    'a short nack delay is not held back by a longer one already waiting',
    async () => {
      const topic = newTopic();
      const [slow, fast] = [keyedEvent(topic, 'item-1', 0), keyedEvent(topic, 'item-2', 0)];
      const ledger = new Ledger();
      const nackedAt = new Map<string, number>();
      const delays = new Map([
        [slow.id, 3000],
        [fast.id, 200],
      ]);
      const consumer = await suite.connect();
      await consumer.subscribe(
        newGroup(),
        ledger.handler('consumer', async (delivery, seen) => {
          if (seen.timesSeen > 1) return delivery.ack();
          nackedAt.set(delivery.event.id, Date.now());
          await delivery.nack({ delayMs: delays.get(delivery.event.id)! });
        }),
        { topics: [topic] },
      );
      const publisher = await suite.connect();

      await publisher.publish([slow]);
      await ledger.waitUntil(() => ledger.nacks.length === 1, 'the slow event to be nacked');
      await publisher.publish([fast]);
      await ledger.waitForAcked([fast.id], 200 + LATE_MS + 1000);

      const waited = ledger.deliveriesOf(fast.id)[1]!.at - nackedAt.get(fast.id)!;
      expect(waited, 'ms between the nack and the redelivery').toBeGreaterThanOrEqual(
        200 - TIMER_SLACK_MS,
      );
      expect(waited, 'ms between the nack and the redelivery').toBeLessThanOrEqual(200 + LATE_MS);
      expect(ledger.deliveriesOf(slow.id).map((seen) => seen.deliveryCount)).toEqual([1]);
    },
    { needs: 'nackDelay' },
  );

  suite.test(
    'an event nacked with a delay comes back after the delay to a member that joined after the nacking member left',
    async () => {
      const topic = newTopic();
      const group = newGroup();
      const x = keyedEvent(topic, 'item-1', 0);
      const ledger = new Ledger();
      let nackedAt = 0;
      const first = await (
        await suite.connect()
      ).subscribe(
        group,
        ledger.handler('first', async (delivery) => {
          nackedAt = Date.now();
          await delivery.nack({ delayMs: 300 });
        }),
        { topics: [topic] },
      );
      await (await suite.connect()).publish([x]);
      await ledger.waitUntil(() => ledger.nacks.length === 1, 'the first member to nack X');

      await first.close();
      await (await suite.connect()).subscribe(group, ledger.handler('second'), { topics: [topic] });
      await ledger.waitForAcked([x.id], 300 + LATE_MS + 1000);
      await ledger.expectQuiet();

      const [, again] = ledger.deliveriesOf(x.id);
      expect(ledger.deliveriesOf(x.id).map((seen) => seen.member)).toEqual(['first', 'second']);
      expect(again!.deliveryCount).toBe(2);
      expect(again!.at - nackedAt, 'ms between the nack and the redelivery').toBeGreaterThanOrEqual(
        300 - TIMER_SLACK_MS,
      );
      expect(again!.at - nackedAt, 'ms between the nack and the redelivery').toBeLessThanOrEqual(
        300 + LATE_MS,
      );
    },
    { needs: 'nackDelay' },
  );
}
