import { createEvent } from '@eventfabric/core';
import { afterAll, expect, it } from 'vitest';
import { createNatsTransport } from '../src/index.js';
import {
  deleteStreams,
  describeWithNats,
  restartNatsServer,
  TEST_NATS_URL,
  uniqueToken,
} from './nats-available.js';

const ns = uniqueToken('mem');

async function until(predicate: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describeWithNats('NATS memory storage across a server restart', () => {
  afterAll(() => deleteStreams([`${ns}_`]));

  it('a restart loses memory streams and consumers; the publisher and the member declare them again and carry on with new events', async () => {
    const options = {
      servers: TEST_NATS_URL,
      namePrefix: `${ns}_`,
      subjectPrefix: ns,
      partitions: 2,
      stream: { storage: 'memory' as const },
    };
    const consumer = await createNatsTransport(options);
    const publisher = await createNatsTransport(options);
    try {
      const handled: string[] = [];
      await consumer.subscribe(
        'orders.mailer',
        async (d) => {
          handled.push(d.event.id);
          await d.ack();
        },
        { topics: ['orders.*'] },
      );
      const before = createEvent({
        type: 'orders.order.placed.v1',
        source: '/t',
        subject: 'order-1',
        data: {},
      });
      await publisher.publish([before]);
      await until(() => handled.length === 1, 'the event before the restart');

      await restartNatsServer();
      const after = ['order-1', 'order-2', 'order-3'].map((subject) =>
        createEvent({ type: 'orders.order.placed.v1', source: '/t', subject, data: {} }),
      );
      await publisher.publish(after);
      await until(() => handled.length === 4, 'the events after the restart');
      await new Promise((resolve) => setTimeout(resolve, 300));

      expect(handled[0]).toBe(before.id);
      expect(handled.slice(1).sort()).toEqual(after.map((e) => e.id).sort());
      const info = await publisher.jsm.streams.info(`${ns}_orders_events`);
      expect(info.config.storage).toBe('memory');
      expect(info.state.messages).toBe(3);
    } finally {
      await consumer.close();
      await publisher.close();
    }
  }, 90_000);
});
