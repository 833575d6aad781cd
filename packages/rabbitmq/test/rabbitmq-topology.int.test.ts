import { createEvent, EventFabricError, type CloudEvent, type Delivery } from '@eventfabric/core';
import { connect, type ChannelModel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bindingOf,
  createRabbitMqTransport,
  deadLetterQueueName,
  retryQueueName,
  type RabbitMqTransport,
  type RabbitMqTransportOptions,
} from '../src/index.js';
import {
  deleteTopology,
  describeWithRabbitMq,
  queuesOf,
  TEST_AMQP_URL,
  uniqueSuffix,
} from './rabbitmq-available.js';

/** The code `action` fails with; fails the test when it succeeds or throws something else. */
async function failureOf(action: () => Promise<unknown>): Promise<EventFabricError> {
  try {
    await action();
  } catch (error) {
    if (error instanceof EventFabricError) return error;
    throw error;
  }
  throw new Error('expected a failure, but it succeeded');
}

function waitFor(predicate: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const tick = (): void => {
      if (predicate()) resolve();
      else if (Date.now() > deadline) reject(new Error(`timed out after ${timeoutMs} ms`));
      else setTimeout(tick, 5);
    };
    tick();
  });
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('AMQP bindings of topic patterns', () => {
  it('keeps exact types and inner wildcards, and makes a trailing * one or more words', () => {
    expect(bindingOf('treasury.contribution.approved.v1')).toEqual({
      exchange: 'treasury.events',
      bindingKey: 'treasury.contribution.approved.v1',
    });
    expect(bindingOf('treasury.*')).toEqual({
      exchange: 'treasury.events',
      bindingKey: 'treasury.*.#',
    });
    expect(bindingOf('treasury.*.approved.v1')).toEqual({
      exchange: 'treasury.events',
      bindingKey: 'treasury.*.approved.v1',
    });
    expect(bindingOf('treasury.contribution.*')).toEqual({
      exchange: 'treasury.events',
      bindingKey: 'treasury.contribution.*.#',
    });
  });

  it('rejects a pattern whose context is a wildcard with INVALID_ARGUMENT', async () => {
    for (const pattern of ['*', '*.contribution.approved.v1']) {
      const error = await failureOf(async () => bindingOf(pattern));
      expect([error.code, error.details]).toEqual(['INVALID_ARGUMENT', { pattern }]);
    }
  });
});

describeWithRabbitMq('RabbitMQ topology, dead letters and bad input', () => {
  const context = `topo${uniqueSuffix()}`;
  const groups: string[] = [];
  const transports: RabbitMqTransport[] = [];
  let admin: ChannelModel;

  const newGroup = (): string => {
    const group = `${context}.g${uniqueSuffix()}`;
    groups.push(group);
    return group;
  };
  const open = async (options: Partial<RabbitMqTransportOptions> = {}) => {
    const transport = await createRabbitMqTransport({ url: TEST_AMQP_URL, ...options });
    transports.push(transport);
    return transport;
  };
  const event = (verb: string, subject = 'item-1', data: unknown = { n: 1 }): CloudEvent =>
    createEvent({ type: `${context}.item.${verb}.v1`, source: '/test', subject, data });
  /** Whether a queue exists (a passive declare on a channel of its own). */
  const queueExists = async (queue: string): Promise<boolean> => {
    const channel = await admin.createChannel();
    channel.on('error', () => undefined);
    try {
      await channel.checkQueue(queue);
      await channel.close();
      return true;
    } catch {
      return false;
    }
  };
  const depth = async (queue: string): Promise<number> => {
    const channel = await admin.createChannel();
    const { messageCount } = await channel.checkQueue(queue);
    await channel.close();
    return messageCount;
  };

  beforeAll(async () => {
    admin = await connect(TEST_AMQP_URL);
  });

  afterAll(async () => {
    await Promise.all(transports.map((t) => t.close()));
    await deleteTopology({
      queues: groups.flatMap((g) => [
        ...queuesOf(g),
        retryQueueName(g, 150),
        retryQueueName(g, 300),
      ]),
      exchanges: [`${context}.events`, `${context}u.events`],
    });
    await admin.close();
  });

  describe('declaration', () => {
    it('is idempotent: a second member declares the same topology without error, and both consume', async () => {
      const group = newGroup();
      const seen: string[] = [];
      const [a, b] = [await open(), await open()];
      for (const [name, t] of [
        ['a', a],
        ['b', b],
      ] as const) {
        await t.subscribe(
          group,
          async (d) => {
            seen.push(name);
            await d.ack();
          },
          { topics: [`${context}.item.*`] },
        );
      }
      await a.publish([event('added')]);
      await waitFor(() => seen.length === 1);

      for (const queue of queuesOf(group)) expect(await queueExists(queue), queue).toBe(true);
      expect(a.topologyFor(group, [`${context}.item.*`]).queues.map((q) => q.name)).toEqual([
        group,
        ...[100, 500, 2000, 10_000, 30_000].map((d) => retryQueueName(group, d)),
        deadLetterQueueName(group),
      ]);
    });

    it('fails with TOPOLOGY_CONFLICT naming the queue and the argument when the queue exists as another type, and declares nothing', async () => {
      const group = newGroup();
      const channel = await admin.createChannel();
      await channel.assertQueue(group, { durable: true });
      await channel.close();
      const transport = await open({ queueType: 'quorum' });

      const error = await failureOf(() =>
        transport.subscribe(group, async (d) => d.ack(), { topics: [`${context}.item.*`] }),
      );

      expect(error.code).toBe('TOPOLOGY_CONFLICT');
      expect(error.details).toMatchObject({ queue: group, argument: 'x-queue-type' });
      expect(error.message).toContain(`queue ${group}`);
      expect(await queueExists(deadLetterQueueName(group))).toBe(false);
      expect(await queueExists(retryQueueName(group, 100))).toBe(false);
      // The transport is still usable after the failed declare closed its channel.
      const other = newGroup();
      await transport.subscribe(other, async (d) => d.ack(), { topics: [`${context}.item.*`] });
      expect(transport.status().subscriptions).toEqual([other]);
    });
  });

  describe('retries and dead letters', () => {
    it('a delay past the last retry step waits in the last step until it is due', async () => {
      const group = newGroup();
      const transport = await open({ retryDelaysMs: [150, 300] });
      const deliveries: { count: number; at: number }[] = [];
      let nackedAt = 0;
      await transport.subscribe(
        group,
        async (d) => {
          deliveries.push({ count: d.deliveryCount, at: Date.now() });
          if (deliveries.length === 1) {
            nackedAt = Date.now();
            await d.nack({ delayMs: 800 });
          } else await d.ack();
        },
        { topics: [`${context}.item.delayed.v1`] },
      );

      await transport.publish([event('delayed')]);
      await waitFor(() => deliveries.length === 2, 5000);
      await sleep(200);

      expect(deliveries.map((d) => d.count)).toEqual([1, 2]);
      expect(deliveries[1]!.at - nackedAt).toBeGreaterThanOrEqual(780);
      expect(deliveries[1]!.at - nackedAt).toBeLessThan(800 + 1000);
      expect(await depth(retryQueueName(group, 300))).toBe(0);
      expect(await depth(group)).toBe(0);
    });

    it('a message that is not a CloudEvent goes to <queue>.dlq with its error context, untouched, and never reaches the handler', async () => {
      const group = newGroup();
      const transport = await open();
      const handled: Delivery[] = [];
      await transport.subscribe(
        group,
        async (d) => {
          handled.push(d);
          await d.ack();
        },
        { topics: [`${context}.item.*`] },
      );
      const channel = await admin.createConfirmChannel();
      channel.sendToQueue(group, Buffer.from('not json {'), {
        messageId: 'garbage-1',
        contentType: 'text/plain',
        headers: { 'x-producer': 'legacy' },
      });
      await channel.waitForConfirms();
      await channel.close();

      const dlq = deadLetterQueueName(group);
      await (async () => {
        for (let i = 0; i < 200 && (await depth(dlq)) === 0; i++) await sleep(10);
      })();
      const reader = await admin.createChannel();
      const message = await reader.get(dlq, { noAck: true });
      await reader.close();

      expect(handled).toEqual([]);
      expect(message).not.toBe(false);
      if (message === false) return;
      expect(message.content.toString()).toBe('not json {');
      expect(message.properties.messageId).toBe('garbage-1');
      const headers = message.properties.headers as Record<string, unknown>;
      expect(headers['x-producer']).toBe('legacy');
      expect(headers['x-eventfabric-reason']).toBe('malformed');
      expect(headers['x-eventfabric-error-code']).toBe('INVALID_EVENT');
      expect(String(headers['x-eventfabric-error-message'])).toContain('garbage-1');
      expect(headers['x-eventfabric-origin']).toBe(group);
      expect(await depth(group)).toBe(0);
    });
  });

  describe('CloudEvents AMQP binding', () => {
    it('delivers a binary-mode event (cloudEvents: application properties, data in the body)', async () => {
      const group = newGroup();
      const transport = await open();
      const received: CloudEvent[] = [];
      await transport.subscribe(
        group,
        async (d) => {
          received.push(d.event);
          await d.ack();
        },
        { topics: [`${context}.item.binary.v1`] },
      );
      const channel = await admin.createConfirmChannel();
      channel.publish(`${context}.events`, `${context}.item.binary.v1`, Buffer.from('{"n":7}'), {
        contentType: 'application/json',
        headers: {
          'cloudEvents:specversion': '1.0',
          'cloudEvents:id': 'foreign-1',
          'cloudEvents:type': `${context}.item.binary.v1`,
          'cloudEvents:source': '/elsewhere',
          'cloudEvents:partitionkey': 'k-1',
        },
      });
      await channel.waitForConfirms();
      await channel.close();
      await waitFor(() => received.length === 1);

      expect(received[0]).toEqual({
        specversion: '1.0',
        id: 'foreign-1',
        type: `${context}.item.binary.v1`,
        source: '/elsewhere',
        partitionkey: 'k-1',
        datacontenttype: 'application/json',
        data: { n: 7 },
      });
    });
  });

  describe('order per partition key', () => {
    it('with concurrency 8, one member handles each key one at a time, in publish order', async () => {
      const group = newGroup();
      const transport = await open();
      const handled = new Map<string, number[]>();
      const working = new Set<string>();
      const overlaps: string[] = [];
      await transport.subscribe(
        group,
        async (d) => {
          const { key, n } = d.event.data as { key: string; n: number };
          if (working.has(key)) overlaps.push(key);
          working.add(key);
          await sleep(Math.floor(Math.random() * 3));
          handled.set(key, [...(handled.get(key) ?? []), n]);
          working.delete(key);
          await d.ack();
        },
        { topics: [`${context}.item.ordered.v1`], concurrency: 8 },
      );
      const events = Array.from({ length: 50 }, (_, n) =>
        ['k0', 'k1', 'k2', 'k3'].map((key) => event('ordered', key, { key, n })),
      ).flat();

      await transport.publish(events);
      await waitFor(() => [...handled.values()].reduce((sum, ns) => sum + ns.length, 0) === 200);

      expect(overlaps).toEqual([]);
      for (const key of ['k0', 'k1', 'k2', 'k3']) {
        expect(handled.get(key)).toEqual(Array.from({ length: 50 }, (_, n) => n));
      }
    });
  });

  describe('bad input', () => {
    it('rejects malformed options with INVALID_CONFIG before connecting', async () => {
      const bad: unknown[] = [
        undefined,
        'amqp://x',
        {},
        { url: 42 },
        { url: 'http://127.0.0.1:5672' },
        { url: TEST_AMQP_URL, queueType: 'lazy' },
        { url: TEST_AMQP_URL, retryDelaysMs: [] },
        { url: TEST_AMQP_URL, retryDelaysMs: [500, 100] },
        { url: TEST_AMQP_URL, retryDelaysMs: [0] },
        { url: TEST_AMQP_URL, confirmWindow: 0 },
        { url: TEST_AMQP_URL, confirmWindow: 1.5 },
        { url: TEST_AMQP_URL, maxEventBytes: -1 },
        { url: TEST_AMQP_URL, prefetch: 10 },
      ];
      const codes: string[] = [];
      for (const options of bad) {
        codes.push(
          (await failureOf(() => createRabbitMqTransport(options as RabbitMqTransportOptions)))
            .code,
        );
      }
      expect(codes).toEqual(bad.map(() => 'INVALID_CONFIG'));
    });

    it('fails with TRANSPORT_UNAVAILABLE, retryable, when nothing answers, without the password in the error', async () => {
      const error = await failureOf(() =>
        createRabbitMqTransport({ url: 'amqp://guest:secret@127.0.0.1:1' }),
      );
      expect(error.code).toBe('TRANSPORT_UNAVAILABLE');
      expect(error.details).toEqual({ retryable: true, url: 'amqp://guest:***@127.0.0.1:1' });
    });

    it('rejects a batch holding an oversize or invalid event, or a type past 255 bytes, and publishes none of it', async () => {
      const group = newGroup();
      const transport = await open({ maxEventBytes: 2048 });
      const handled: string[] = [];
      await transport.subscribe(
        group,
        async (d) => {
          handled.push(d.event.id);
          await d.ack();
        },
        { topics: [`${context}.*`] },
      );
      const small = event('added');
      const cases: [CloudEvent[], string][] = [
        [[small, event('added', 'item-2', { text: 'x'.repeat(4096) })], 'EVENT_TOO_LARGE'],
        [[small, { ...event('added'), type: '' }], 'INVALID_EVENT'],
        [[small, { ...event('added'), id: 42 as unknown as string }], 'INVALID_EVENT'],
        [[small, { ...event('added'), type: `${context}.${'a'.repeat(260)}.v1` }], 'INVALID_EVENT'],
      ];
      const codes: string[] = [];
      for (const [batch] of cases)
        codes.push((await failureOf(() => transport.publish(batch))).code);
      const marker = event('marker');
      await transport.publish([marker]);
      await waitFor(() => handled.length >= 1);
      await sleep(150);

      expect(codes).toEqual(cases.map(([, code]) => code));
      expect(handled).toEqual([marker.id]);
    });

    it('reports an event no queue is bound for as UNROUTABLE_EVENT, naming it, while the routable ones are delivered', async () => {
      const group = newGroup();
      const transport = await open();
      const handled: string[] = [];
      await transport.subscribe(
        group,
        async (d) => {
          handled.push(d.event.id);
          await d.ack();
        },
        { topics: [`${context}u.item.routed.v1`] },
      );
      // A context of its own: other tests bind patterns that would match these types.
      const [routed, lost] = ['routed', 'nobody'].map((verb) =>
        createEvent({
          type: `${context}u.item.${verb}.v1`,
          source: '/test',
          subject: 'item-1',
          data: {},
        }),
      ) as [CloudEvent, CloudEvent];

      const error = await failureOf(() => transport.publish([routed, lost]));
      await waitFor(() => handled.length === 1);

      expect(error.code).toBe('UNROUTABLE_EVENT');
      expect(error.details).toEqual({
        unroutable: [{ id: lost.id, type: lost.type }],
        published: 1,
      });
      expect(handled).toEqual([routed.id]);
    });

    it('publishing an empty array resolves with no positions and sends nothing', async () => {
      const transport = await open();
      expect(await transport.publish([])).toEqual({ positions: [] });
      expect(transport.status()).toMatchObject({ connection: 'open', unconfirmed: 0 });
    });
  });
});
