// nats.e2e: the NATS JetStream transport against raw nats.js doing the same work in the same
// run: publish N events with JetStream acks pipelined (no per-message await), then consume
// them all from a durable pull consumer with explicit acks. Each side gets fresh streams
// (names carry a random token) that are deleted afterwards. EF_BENCH_NATS_URL overrides the
// server. Sub-entries report the publish and consume phases on their own.
import { randomBytes } from 'node:crypto';
import { connect } from '@nats-io/transport-node';
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { createEvent } from '@eventfabric/core';
import { createNatsTransport } from '@eventfabric/nats';
import { median } from './lib/measure.js';

const URL = process.env.EF_BENCH_NATS_URL ?? 'nats://127.0.0.1:4222';
const ROUNDS = 3;
const EVENTS = 20_000;
const KEYS = 1000;
/** Publishes awaiting their ack at once, on both sides. */
const WINDOW = 1024;
const CONCURRENCY = 16;

function makeEvents(type) {
  return Array.from({ length: EVENTS }, (_, i) =>
    createEvent({
      type,
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
async function ours(round) {
  const ns = `bench${randomBytes(4).toString('hex')}`;
  const transport = await createNatsTransport({
    servers: URL,
    namePrefix: `${ns}_`,
    subjectPrefix: ns,
    maxPublishInFlight: WINDOW,
  });
  try {
    const events = makeEvents(`bench.contribution.approved.v${round + 1}`);
    let handled = 0;
    let done;
    const finished = new Promise((resolve) => (done = resolve));
    // Declared first, as a running service would be; its partition consumers start with
    // the whole stream pending.
    const declaring = await transport.subscribe('bench.ledger', async (d) => d.ack(), {
      topics: ['bench.*'],
    });
    await declaring.close();
    const started = process.hrtime.bigint();
    // One call: the transport keeps WINDOW acks in flight, sliding, as the raw side does.
    await transport.publish(events);
    const publishRate = rate(EVENTS, started);
    const consumeStarted = process.hrtime.bigint();
    await transport.subscribe(
      'bench.ledger',
      async (delivery) => {
        await delivery.ack();
        if (++handled === EVENTS) done();
      },
      { topics: ['bench.*'], concurrency: CONCURRENCY, prefetch: 100 },
    );
    await finished;
    return {
      e2e: rate(EVENTS, started),
      publish: publishRate,
      consume: rate(EVENTS, consumeStarted),
    };
  } finally {
    await transport.close();
    await deleteStreams(ns);
  }
}

/** Raw nats.js: one stream, one durable pull consumer, `consume()` with explicit acks. */
async function raw(round) {
  const ns = `bench${randomBytes(4).toString('hex')}`;
  const nc = await connect({ servers: URL });
  try {
    const jsm = await jetstreamManager(nc);
    const js = jetstream(nc);
    await jsm.streams.add({ name: `${ns}_raw`, subjects: [`${ns}.>`] });
    await jsm.consumers.add(`${ns}_raw`, {
      durable_name: 'ledger',
      ack_policy: AckPolicy.Explicit,
      max_ack_pending: 1000,
    });
    const events = makeEvents(`bench.contribution.approved.v${round + 1}`);
    const encoder = new TextEncoder();
    const started = process.hrtime.bigint();
    // The same window as the transport's: a counter and a queue of waiters.
    const acks = [];
    const waiting = [];
    let inFlight = 0;
    for (const event of events) {
      if (inFlight >= WINDOW) await new Promise((resolve) => waiting.push(resolve));
      inFlight++;
      acks.push(
        js
          .publish(`${ns}.${event.type}`, encoder.encode(JSON.stringify(event)), {
            msgID: event.id,
          })
          .finally(() => {
            inFlight--;
            waiting.shift()?.();
          }),
      );
    }
    await Promise.all(acks);
    const publishRate = rate(EVENTS, started);
    const consumeStarted = process.hrtime.bigint();
    const consumer = await js.consumers.get(`${ns}_raw`, 'ledger');
    const messages = await consumer.consume({ max_messages: 100 });
    let handled = 0;
    for await (const m of messages) {
      JSON.parse(new TextDecoder().decode(m.data));
      m.ack();
      if (++handled === EVENTS) break;
    }
    return {
      e2e: rate(EVENTS, started),
      publish: publishRate,
      consume: rate(EVENTS, consumeStarted),
    };
  } finally {
    await deleteStreams(ns, nc);
    await nc.close();
  }
}

async function deleteStreams(ns, existing) {
  const nc = existing ?? (await connect({ servers: URL }));
  try {
    const jsm = await jetstreamManager(nc);
    for await (const name of jsm.streams.names()) {
      if (name.startsWith(`${ns}_`)) await jsm.streams.delete(name);
    }
  } finally {
    if (!existing) await nc.close();
  }
}

let measured;
/** Both sides, alternating who goes first, ROUNDS times; each phase's median. */
async function measure() {
  measured ??= (async () => {
    const runs = { ours: [], raw: [] };
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? ['raw', 'ours'] : ['ours', 'raw'];
      for (const side of order) runs[side].push(await (side === 'ours' ? ours : raw)(round));
    }
    const pick = (side, phase) => median(runs[side].map((r) => r[phase]));
    return (phase) => ({ ours: pick('ours', phase), baseline: pick('raw', phase) });
  })();
  return measured;
}

export const benchmarks = [
  { id: 'nats.e2e', unit: 'ev/s', goal: 0.7, run: async () => (await measure())('e2e') },
  { id: 'nats.e2e.publish', unit: 'ev/s', run: async () => (await measure())('publish') },
  { id: 'nats.e2e.consume', unit: 'ev/s', run: async () => (await measure())('consume') },
];
