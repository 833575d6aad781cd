// rabbitmq.e2e: the RabbitMQ transport against raw amqplib doing the same work in the same
// run: publish N events with publisher confirms pipelined through a window of 1000 (no
// per-message await), then consume them all with prefetch 200 and manual acks. Both sides use
// a durable quorum queue bound to a topic exchange, persistent messages and mandatory
// publishes; every name carries a random token and is deleted afterwards.
// EF_BENCH_AMQP_URL overrides the broker. Sub-entries report each phase on its own.
// rabbitmq.e2e.idempotent: the same run, each event handled through the consumer framework
// with a transactional PostgreSQL idempotency record (PostgresProcessedEvents), against raw
// amqplib writing the same record with one autocommit INSERT per message before its ack, 16
// pg connections on both sides. EF_BENCH_PG_URL overrides the database.
import { randomBytes } from 'node:crypto';
import amqp from 'amqplib';
import pg from 'pg';
import { createConsumer, createEvent } from '@eventfabric/core';
import { createPostgresEventStore, PostgresProcessedEvents } from '@eventfabric/postgres';
import { createRabbitMqTransport, DEFAULT_RETRY_DELAYS_MS } from '@eventfabric/rabbitmq';
import { median } from './lib/measure.js';

const URL = process.env.EF_BENCH_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const ROUNDS = 3;
const EVENTS = 10_000;
const KEYS = 1000;
const WINDOW = 1000;
const PREFETCH = 200;
const CONCURRENCY = 16;
const PG_URL = process.env.EF_BENCH_PG_URL ?? 'postgres://root@127.0.0.1:5432/test';
const IDEMPOTENT_EVENTS = 4000;

function makeEvents(context, count = EVENTS) {
  return Array.from({ length: count }, (_, i) =>
    createEvent({
      type: `${context}.contribution.approved.v1`,
      source: '/bench',
      subject: `contribution-${i % KEYS}`,
      data: { contributionId: `c-${i}`, memberId: 'member-7', amountCents: 12500 + i },
    }),
  );
}

function rate(count, started) {
  return count / (Number(process.hrtime.bigint() - started) / 1e9);
}

/** EventFabric: publish everything in one call, then one member handles everything. */
async function ours() {
  const context = `bench${randomBytes(4).toString('hex')}`;
  const group = `${context}.ledger`;
  const transport = await createRabbitMqTransport({ url: URL, confirmWindow: WINDOW });
  try {
    const events = makeEvents(context);
    let handled = 0;
    let done;
    const finished = new Promise((resolve) => (done = resolve));
    // Declared first, as a running service would be.
    await (
      await transport.subscribe(group, async (d) => d.ack(), { topics: [`${context}.*`] })
    ).close();
    const started = process.hrtime.bigint();
    await transport.publish(events);
    const publishRate = rate(EVENTS, started);
    const consumeStarted = process.hrtime.bigint();
    await transport.subscribe(
      group,
      async (delivery) => {
        await delivery.ack();
        if (++handled === EVENTS) done();
      },
      { topics: [`${context}.*`], concurrency: CONCURRENCY, prefetch: PREFETCH },
    );
    await finished;
    return {
      e2e: rate(EVENTS, started),
      publish: publishRate,
      consume: rate(EVENTS, consumeStarted),
    };
  } finally {
    await transport.close();
    await cleanUp(context, [
      group,
      `${group}.dlq`,
      ...DEFAULT_RETRY_DELAYS_MS.map((d) => `${group}.retry.${d}`),
    ]);
  }
}

/** Raw amqplib: the same exchange, queue type, window and prefetch; one ack per message. */
async function raw() {
  const context = `bench${randomBytes(4).toString('hex')}`;
  const exchange = `${context}.events`;
  const queue = `${context}.ledger`;
  const model = await amqp.connect(URL);
  try {
    const setup = await model.createChannel();
    await setup.assertExchange(exchange, 'topic', { durable: true });
    await setup.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    await setup.bindQueue(queue, exchange, `${context}.*.#`);
    await setup.close();
    const events = makeEvents(context);
    const channel = await model.createConfirmChannel();
    const started = process.hrtime.bigint();
    const confirms = [];
    const waiting = [];
    let inFlight = 0;
    for (const event of events) {
      if (inFlight >= WINDOW) await new Promise((resolve) => waiting.push(resolve));
      inFlight++;
      confirms.push(
        new Promise((resolve, reject) =>
          channel.publish(
            exchange,
            event.type,
            Buffer.from(JSON.stringify(event)),
            {
              persistent: true,
              mandatory: true,
              messageId: event.id,
              contentType: 'application/cloudevents+json',
            },
            (error) => {
              inFlight--;
              waiting.shift()?.();
              if (error) reject(error);
              else resolve();
            },
          ),
        ),
      );
    }
    await Promise.all(confirms);
    const publishRate = rate(EVENTS, started);
    const consumeStarted = process.hrtime.bigint();
    const consumer = await model.createChannel();
    await consumer.prefetch(PREFETCH);
    let handled = 0;
    await new Promise((resolve) => {
      void consumer.consume(queue, (message) => {
        JSON.parse(message.content.toString('utf8'));
        consumer.ack(message);
        if (++handled === EVENTS) resolve();
      });
    });
    return {
      e2e: rate(EVENTS, started),
      publish: publishRate,
      consume: rate(EVENTS, consumeStarted),
    };
  } finally {
    await model.close().catch(() => undefined);
    await cleanUp(context, [queue]);
  }
}

async function cleanUp(context, queues) {
  const model = await amqp.connect(URL);
  try {
    const channel = await model.createChannel();
    for (const queue of queues) await channel.deleteQueue(queue);
    await channel.deleteExchange(`${context}.events`);
    await channel.close();
  } finally {
    await model.close();
  }
}

/** Ours, idempotent: publish, then the consumer framework with a PostgreSQL record per event. */
async function oursIdempotent() {
  const context = `bench${randomBytes(4).toString('hex')}`;
  const transport = await createRabbitMqTransport({ url: URL, confirmWindow: WINDOW });
  const store = await createPostgresEventStore({
    connectionString: PG_URL,
    schema: `ef_bench_${context}`,
    poolSize: CONCURRENCY,
  });
  const group = `${context}.ledger`;
  try {
    const events = makeEvents(context, IDEMPOTENT_EVENTS);
    let handled = 0;
    let done;
    const finished = new Promise((resolve) => (done = resolve));
    const consumer = createConsumer({
      service: context,
      transport,
      processed: new PostgresProcessedEvents(store),
      concurrency: CONCURRENCY,
      prefetch: PREFETCH,
      handlers: [
        {
          name: 'ledger',
          on: [`${context}.*`],
          transactional: true,
          handle: async () => {
            if (++handled === IDEMPOTENT_EVENTS) done();
          },
        },
      ],
    });
    const started = process.hrtime.bigint();
    await consumer.start();
    await transport.publish(events);
    await finished;
    const result = rate(IDEMPOTENT_EVENTS, started);
    await consumer.stop();
    return result;
  } finally {
    await transport.close();
    await store.pool.query(`DROP SCHEMA IF EXISTS "ef_bench_${context}" CASCADE`);
    await store.close();
    await cleanUp(context, [
      group,
      `${group}.dlq`,
      ...DEFAULT_RETRY_DELAYS_MS.map((d) => `${group}.retry.${d}`),
    ]);
  }
}

/** Raw, idempotent: amqplib, one INSERT … ON CONFLICT DO NOTHING per message, then its ack. */
async function rawIdempotent() {
  const context = `bench${randomBytes(4).toString('hex')}`;
  const exchange = `${context}.events`;
  const queue = `${context}.ledger`;
  const schema = `ef_bench_${context}`;
  const pool = new pg.Pool({ connectionString: PG_URL, max: CONCURRENCY });
  const model = await amqp.connect(URL);
  try {
    await pool.query(`CREATE SCHEMA "${schema}"`);
    await pool.query(
      `CREATE TABLE "${schema}".processed_events (handler text NOT NULL, event_id text NOT NULL,
       processed_at timestamptz NOT NULL DEFAULT clock_timestamp(), PRIMARY KEY (handler, event_id))`,
    );
    const setup = await model.createChannel();
    await setup.assertExchange(exchange, 'topic', { durable: true });
    await setup.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    await setup.bindQueue(queue, exchange, `${context}.*.#`);
    await setup.close();
    const events = makeEvents(context, IDEMPOTENT_EVENTS);
    const consumer = await model.createChannel();
    await consumer.prefetch(PREFETCH);
    let handled = 0;
    let done;
    const finished = new Promise((resolve) => (done = resolve));
    const insert = `INSERT INTO "${schema}".processed_events (handler, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`;
    const started = process.hrtime.bigint();
    await consumer.consume(queue, (message) => {
      const event = JSON.parse(message.content.toString('utf8'));
      void pool.query(insert, ['ledger', event.id]).then(() => {
        consumer.ack(message);
        if (++handled === IDEMPOTENT_EVENTS) done();
      });
    });
    const channel = await model.createConfirmChannel();
    const confirms = [];
    const waiting = [];
    let inFlight = 0;
    for (const event of events) {
      if (inFlight >= WINDOW) await new Promise((resolve) => waiting.push(resolve));
      inFlight++;
      confirms.push(
        new Promise((resolve, reject) =>
          channel.publish(
            exchange,
            event.type,
            Buffer.from(JSON.stringify(event)),
            { persistent: true, mandatory: true, messageId: event.id },
            (error) => {
              inFlight--;
              waiting.shift()?.();
              if (error) reject(error);
              else resolve();
            },
          ),
        ),
      );
    }
    await Promise.all(confirms);
    await finished;
    return rate(IDEMPOTENT_EVENTS, started);
  } finally {
    await model.close().catch(() => undefined);
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await pool.end();
    await cleanUp(context, [queue]);
  }
}

let idempotent;
async function measureIdempotent() {
  idempotent ??= (async () => {
    const runs = { ours: [], raw: [] };
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? ['raw', 'ours'] : ['ours', 'raw'];
      for (const side of order) {
        runs[side].push(await (side === 'ours' ? oursIdempotent : rawIdempotent)());
      }
    }
    return { ours: median(runs.ours), baseline: median(runs.raw) };
  })();
  return idempotent;
}

let measured;
/** Both sides, alternating who goes first, ROUNDS times; each phase's median. */
async function measure() {
  measured ??= (async () => {
    const runs = { ours: [], raw: [] };
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? ['raw', 'ours'] : ['ours', 'raw'];
      for (const side of order) runs[side].push(await (side === 'ours' ? ours : raw)());
    }
    const pick = (side, phase) => median(runs[side].map((r) => r[phase]));
    return (phase) => ({ ours: pick('ours', phase), baseline: pick('raw', phase) });
  })();
  return measured;
}

export const benchmarks = [
  { id: 'rabbitmq.e2e', unit: 'ev/s', goal: 0.7, run: async () => (await measure())('e2e') },
  { id: 'rabbitmq.e2e.publish', unit: 'ev/s', run: async () => (await measure())('publish') },
  { id: 'rabbitmq.e2e.consume', unit: 'ev/s', run: async () => (await measure())('consume') },
  { id: 'rabbitmq.e2e.idempotent', unit: 'ev/s', run: measureIdempotent },
];
