import type { CloudEvent } from '@eventfabric/core';
import { describe, expect } from 'vitest';
import { idsByKey, idsOf, interleavedEvents, keys, newGroup, newTopic, sleep } from './fixtures.js';
import { ackedByKey, KeyOverlap } from './key-overlap.js';
import { Ledger, type Handle } from './ledger.js';
import type { TransportSuite } from './suite.js';

/** The stress run must finish well within this, on two cores. */
const STRESS_TIMEOUT_MS = 15_000;

export function describeStress(suite: TransportSuite): void {
  /**
   * Two members, each on its own connection with concurrency 4, share one group. Each
   * connection also publishes 1 000 events over its own 10 keys, in batches of 50, while the
   * other does the same. One delivery in ten is nacked at random.
   */
  async function stressRun(): Promise<{
    ledger: Ledger;
    overlap: KeyOverlap;
    events: CloudEvent[];
  }> {
    const topic = newTopic();
    const group = newGroup();
    const ledger = new Ledger();
    const overlap = new KeyOverlap();
    const handle: Handle = async (delivery) => {
      if (Math.random() < 0.2) await sleep(0);
      if (Math.random() < 0.1) await delivery.nack();
      else await delivery.ack();
    };
    const connections = [await suite.connect(), await suite.connect()];
    for (const [i, connection] of connections.entries()) {
      await connection.subscribe(group, ledger.handler(`member ${i}`, overlap.track(handle)), {
        topics: [topic],
        concurrency: 4,
      });
    }
    const allKeys = keys(20);
    const published = connections.map((_, i) =>
      interleavedEvents(topic, allKeys.slice(i * 10, i * 10 + 10), 100),
    );

    await Promise.all(
      published.map(async (events, i) => {
        for (let start = 0; start < events.length; start += 50) {
          await connections[i]!.publish(events.slice(start, start + 50));
        }
      }),
    );
    const events = published.flat();
    await ledger.waitForAcked(idsOf(events), STRESS_TIMEOUT_MS);
    await ledger.expectQuiet();

    expect(ledger.nacks.length, 'random nacks').toBeGreaterThan(0);
    expect(new Set(ledger.acks.map((seen) => seen.member)).size, 'members that acked').toBe(2);
    ledger.expectEachAckedOnce(idsOf(events));
    return { ledger, overlap, events };
  }

  describe('stress', () => {
    suite.test(
      'two members, 2 000 events over 20 keys, one delivery in ten nacked: every event is acked exactly once',
      async () => {
        await stressRun();
      },
      { needs: 'stress', timeoutMs: 2 * STRESS_TIMEOUT_MS },
    );

    suite.test(
      'two members, 2 000 events over 20 keys, one delivery in ten nacked: each key is acked in publish order, one event at a time',
      async () => {
        const { ledger, overlap, events } = await stressRun();

        expect(ackedByKey(ledger), 'ack order per key').toEqual(idsByKey(events));
        expect(overlap.overlaps, 'keys handled twice at once').toEqual([]);
      },
      { needs: ['stress', 'guaranteedOrder'], timeoutMs: 2 * STRESS_TIMEOUT_MS },
    );
  });
}
