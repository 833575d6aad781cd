import { describe } from 'vitest';
import { idsOf, interleavedEvents, keys, newGroup, newTopic } from './fixtures.js';
import { Ledger } from './ledger.js';
import type { TransportSuite } from './suite.js';

/** How long connections may take to find the restarted broker and deliver again. */
const RECONNECT_TIMEOUT_MS = 30_000;

export function describeReconnect(suite: TransportSuite): void {
  describe('broker restart', () => {
    suite.test(
      'connections carry on across a broker restart: events published before and after it are handled once each, by running and waiting groups',
      async () => {
        const topic = newTopic();
        const [running, waiting] = [newGroup(), newGroup()];
        const [live, late] = [new Ledger(), new Ledger()];
        const consumer = await suite.connect();
        await consumer.subscribe(running, live.handler('running'), { topics: [topic] });
        // The waiting group is declared, then has nobody running until after the restart.
        await (
          await consumer.subscribe(waiting, late.handler('declaring'), { topics: [topic] })
        ).close();
        const publisher = await suite.connect();
        const before = interleavedEvents(topic, keys(3), 5);
        await publisher.publish(before);
        await live.waitForAcked(idsOf(before));

        await suite.features.restartBroker!();
        const after = interleavedEvents(topic, keys(3), 5);
        await publisher.publish(after);
        await live.waitForAcked(idsOf(after), RECONNECT_TIMEOUT_MS);
        await consumer.subscribe(waiting, late.handler('waiting'), { topics: [topic] });
        await late.waitForAcked(idsOf([...before, ...after]), RECONNECT_TIMEOUT_MS);
        await live.expectQuiet();

        live.expectEachAckedOnce(idsOf([...before, ...after]));
        late.expectEachAckedOnce(idsOf([...before, ...after]));
      },
      { needs: 'restartBroker', timeoutMs: 3 * RECONNECT_TIMEOUT_MS },
    );
  });
}
