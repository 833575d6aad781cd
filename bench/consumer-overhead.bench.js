// consumer.overhead: the consumer framework's cost per event — in-memory transport, the full
// middleware chain (tracing, metrics, dead-letter, retry, idempotency) — against a raw loop
// calling the same handler over the same events, in the same run. Reported as µs per event
// (lower is better); the goal is ≤ 10 µs of overhead.
import { createConsumer, createEvent, createInMemoryTransport } from '@eventfabric/core';
import { median } from './lib/measure.js';

const N = 20_000;
const KEYS = 64;

function events() {
  return Array.from({ length: N }, (_, i) =>
    createEvent({
      type: 'bench.item.counted.v1',
      source: '/bench',
      subject: `item-${i % KEYS}`,
      data: { n: i },
    }),
  );
}

async function raw(list) {
  let sum = 0;
  const handle = async (e) => {
    sum += e.data.n;
  };
  const start = process.hrtime.bigint();
  for (const e of list) await handle(e);
  const ns = Number(process.hrtime.bigint() - start);
  if (sum < 0) throw new Error('unreachable');
  return ns / list.length / 1000;
}

async function ours(list) {
  const transport = createInMemoryTransport();
  let handled = 0;
  let done;
  const finished = new Promise((r) => (done = r));
  const consumer = createConsumer({
    service: 'bench',
    transport,
    concurrency: 8,
    handlers: [
      {
        name: 'count',
        on: ['bench.*'],
        handle: async () => {
          if (++handled === list.length) done();
        },
      },
    ],
  });
  await transport.publish(list);
  const start = process.hrtime.bigint();
  await consumer.start();
  await finished;
  const ns = Number(process.hrtime.bigint() - start);
  await consumer.stop();
  return ns / list.length / 1000;
}

export const benchmarks = [
  {
    id: 'consumer.overhead',
    unit: 'µs/event',
    kind: 'cost',
    goal: 10,
    async run() {
      const list = events();
      const oursUs = [];
      const rawUs = [];
      for (let i = 0; i < 5; i++) {
        rawUs.push(await raw(list));
        oursUs.push(await ours(list));
      }
      return { ours: median(oursUs), baseline: median(rawUs) };
    },
  },
];
