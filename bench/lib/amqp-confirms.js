import { randomBytes } from 'node:crypto';
import amqp from 'amqplib';

/**
 * A RabbitMQ destination that both sides of a benchmark share: one confirm channel on a
 * fresh topic exchange bound to one durable classic queue, so every publish is routed and
 * confirmed. `publish(events, onConfirm?)` sends each event as persistent structured JSON
 * (pipelined, no per-message await) and resolves once the broker confirmed all of them;
 * `onConfirm(event)` runs as each confirm arrives. `close()` deletes the queue and exchange.
 */
export async function openConfirmDestination(url) {
  const token = `ef_bench_${randomBytes(4).toString('hex')}`;
  const exchange = `${token}.events`;
  const queue = `${token}.relay`;
  const connection = await amqp.connect(url);
  // A connection closed under us (a neighbour's fault test stopping the broker) fails every
  // pending and later publish, instead of crashing the run or leaving confirms unanswered.
  let lost;
  const pending = new Set();
  const onError = (error) => {
    lost ??= error ?? new Error('RabbitMQ connection closed');
    for (const reject of pending) reject(lost);
    pending.clear();
  };
  connection.on('error', onError);
  connection.on('close', onError);
  const setup = await connection.createChannel();
  setup.on('error', onError);
  await setup.assertExchange(exchange, 'topic', { durable: true });
  await setup.assertQueue(queue, { durable: true });
  await setup.bindQueue(queue, exchange, '#');
  const channel = await connection.createConfirmChannel();
  channel.on('error', onError);
  return {
    publish(events, onConfirm) {
      if (lost) return Promise.reject(lost);
      return Promise.all(
        events.map(
          (event) =>
            new Promise((resolve, reject) => {
              pending.add(reject);
              channel.publish(
                exchange,
                event.type,
                Buffer.from(JSON.stringify(event)),
                {
                  persistent: true,
                  messageId: event.id,
                  contentType: 'application/cloudevents+json',
                },
                (error) => {
                  pending.delete(reject);
                  if (error) return reject(error);
                  onConfirm?.(event);
                  resolve();
                },
              );
            }),
        ),
      );
    },
    /** Empty the queue between rounds, so every round starts alike. */
    purge: () => setup.purgeQueue(queue),
    async close() {
      await setup.deleteQueue(queue).catch(() => undefined);
      await setup.deleteExchange(exchange).catch(() => undefined);
      await connection.close().catch(() => undefined);
    },
  };
}
