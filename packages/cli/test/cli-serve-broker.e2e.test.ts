import { createServer as createTcpServer, connect as tcpConnect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { connect as amqpConnect } from 'amqplib';
import { connect as natsConnect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterEach, describe, expect, it } from 'vitest';
import {
  TEST_AMQP_URL,
  deleteTopology,
  describeWithRabbitMq,
  uniqueSuffix,
} from '../../rabbitmq/test/rabbitmq-available.js';
import { TEST_NATS_URL, deleteStreams, describeWithNats } from '../../nats/test/nats-available.js';
import { collect, runCli, sleep, spawnCli, tempDir } from './cli-harness.js';
import { describeWithPostgres, dropSchemas, storeUrl, testSchemaName } from './pg-available.js';

/** A TCP proxy in front of a broker: stopping it is the broker going away, for this client only. */
async function startProxy(target: URL, defaultPort: number) {
  const sockets = new Set<Socket>();
  const server = createTcpServer((client) => {
    const upstream = tcpConnect({
      host: target.hostname,
      port: Number(target.port || defaultPort),
    });
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    /** Refuse new connections and cut the open ones. */
    async stop() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
    },
    async start() {
      await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    },
  };
}

function startServe(args: string[], cwd: string) {
  const child = spawnCli(['serve', '--port', '0', ...args], { cwd });
  const result = collect(child);
  const url = new Promise<string>((resolve, reject) => {
    let seen = '';
    child.stdout.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(seen);
      if (match) resolve(match[1]!);
    });
    child.on('exit', (code) => reject(new Error(`serve exited with ${code}: ${seen}`)));
  });
  return { child, result, url };
}

function publish(url: string, event: Record<string, unknown>): Promise<Response> {
  return fetch(`${url}/v1/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/cloudevents+json' },
    body: JSON.stringify({ specversion: '1.0', source: '/shop', data: { amount: 1 }, ...event }),
  });
}

async function readyz(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${url}/readyz`);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function metricValue(url: string, series: string): Promise<number | undefined> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** Read until it gives something other than undefined, every 50 ms. */
async function waitFor<T>(read: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`nothing within ${ms} ms`);
    await sleep(50);
  }
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describeWithPostgres('eventfabric serve --store postgres://… --transport amqp://…', () => {
  describeWithRabbitMq('the outbox relay to RabbitMQ (a real serve process)', () => {
    it('given a queue bound to the type, when an event is published over HTTP, then it arrives on the queue; a lost broker makes /readyz 503 until it is back, and what was published meanwhile follows', async () => {
      const { dir, remove } = tempDir();
      cleanups.push(remove);
      const schema = testSchemaName();
      cleanups.push(() => dropSchemas([schema]));
      const context = `t${uniqueSuffix()}`;
      const type = `${context}.order.placed.v1`;
      const exchange = `${context}.events`;
      const queue = `${context}.audit`;
      cleanups.push(() => deleteTopology({ queues: [queue], exchanges: [exchange] }));
      const model = await amqpConnect(TEST_AMQP_URL);
      cleanups.push(() => model.close().catch(() => undefined));
      const channel = await model.createChannel();
      await channel.assertExchange(exchange, 'topic', { durable: true });
      await channel.assertQueue(queue, { durable: true });
      await channel.bindQueue(queue, exchange, `${context}.#`);
      const proxy = await startProxy(new URL(TEST_AMQP_URL), 5672);
      cleanups.push(() => proxy.stop());
      const broker = `amqp://guest:guest@127.0.0.1:${proxy.port}`;

      const serve = startServe(['--store', storeUrl(schema), '--transport', broker], dir);
      cleanups.push(() => void serve.child.kill('SIGKILL'));
      const url = await serve.url;
      const first = await publish(url, { id: 'broker-1', type, subject: 'order-1' });
      const received = await waitFor(
        async () => (await channel.get(queue, { noAck: true })) || undefined,
      );
      const ready = await readyz(url);
      const forwarded = await waitFor(async () =>
        (await metricValue(url, 'eventfabric_outbox_forwarded_total{relay="serve-amqp"}')) === 1
          ? 1
          : undefined,
      );
      const connected = await metricValue(url, 'eventfabric_transport_connected{transport="amqp"}');

      await proxy.stop();
      const down = await waitFor(async () => {
        const probe = await readyz(url);
        return probe.status === 503 ? probe : undefined;
      });
      const whileDown = await publish(url, { id: 'broker-2', type, subject: 'order-2' });
      const disconnected = await metricValue(
        url,
        'eventfabric_transport_connected{transport="amqp"}',
      );
      await proxy.start();
      const back = await waitFor(async () => {
        const probe = await readyz(url);
        return probe.status === 200 ? probe : undefined;
      }, 30_000);
      const second = await waitFor(
        async () => (await channel.get(queue, { noAck: true })) || undefined,
        30_000,
      );
      const reconnects = await metricValue(
        url,
        'eventfabric_transport_reconnects_total{transport="amqp"}',
      );
      serve.child.kill('SIGTERM');
      const { code, stderr } = await serve.result;

      expect(first.status).toBe(201);
      expect(received.properties.contentType).toBe('application/cloudevents+json');
      expect(received.fields.routingKey).toBe(type);
      expect(JSON.parse(received.content.toString())).toMatchObject({
        id: 'broker-1',
        type,
        subject: 'order-1',
        data: { amount: 1 },
      });
      expect(ready).toEqual({
        status: 200,
        body: {
          status: 'ready',
          store: { status: 'ok', head: '1' },
          transport: {
            status: 'ok',
            kind: 'amqp',
            location: `amqp://guest:***@127.0.0.1:${proxy.port}`,
            connection: 'open',
            reconnects: 0,
          },
        },
      });
      expect(forwarded).toBe(1);
      expect(connected).toBe(1);
      expect(down.body).toMatchObject({
        status: 'not_ready',
        store: { status: 'ok', head: '1' },
        transport: { status: 'failed', code: 'TRANSPORT_UNAVAILABLE', kind: 'amqp' },
        error: {
          code: 'TRANSPORT_UNAVAILABLE',
          message: expect.stringMatching(
            new RegExp(
              `^the RabbitMQ connection to amqp://guest:\\*\\*\\*@127\\.0\\.0\\.1:${proxy.port} is (reconnecting|connecting)$`,
            ),
          ) as unknown,
        },
      });
      expect(whileDown.status).toBe(201);
      expect(disconnected).toBe(0);
      expect(back.body).toMatchObject({ status: 'ready', store: { status: 'ok', head: '2' } });
      expect(JSON.parse(second.content.toString())).toMatchObject({ id: 'broker-2', type });
      expect(reconnects).toBe(1);
      expect(await channel.get(queue)).toBe(false);
      expect(code).toBe(0);
      const messages = stderr
        .trim()
        .split('\n')
        .map((line) => (JSON.parse(line) as { msg: string }).msg);
      expect(messages).toEqual(
        expect.arrayContaining([
          "relaying the store's log to the broker",
          'relay stopped',
          'stopped',
        ]),
      );
    });
  });
});

describeWithPostgres('eventfabric serve: SIGTERM with the relay mid-stream', () => {
  describeWithRabbitMq('graceful relay shutdown (real serve processes)', () => {
    it('given 300 events published just before SIGTERM, when serve restarts, then the queue holds each exactly once, in order: the stopped relay checkpointed what it sent', async () => {
      const { dir, remove } = tempDir();
      cleanups.push(remove);
      const schema = testSchemaName();
      cleanups.push(() => dropSchemas([schema]));
      const context = `t${uniqueSuffix()}`;
      const type = `${context}.order.placed.v1`;
      const exchange = `${context}.events`;
      const queue = `${context}.audit`;
      cleanups.push(() => deleteTopology({ queues: [queue], exchanges: [exchange] }));
      const model = await amqpConnect(TEST_AMQP_URL);
      cleanups.push(() => model.close().catch(() => undefined));
      const channel = await model.createChannel();
      await channel.assertExchange(exchange, 'topic', { durable: true });
      await channel.assertQueue(queue, { durable: true });
      await channel.bindQueue(queue, exchange, `${context}.#`);
      const args = ['--store', storeUrl(schema), '--transport', TEST_AMQP_URL];
      const ids = Array.from({ length: 300 }, (_, i) => `sig-${String(i).padStart(3, '0')}`);

      const first = startServe(args, dir);
      cleanups.push(() => void first.child.kill('SIGKILL'));
      const published = await fetch(`${await first.url}/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/cloudevents-batch+json' },
        body: JSON.stringify(
          ids.map((id, i) => ({
            specversion: '1.0',
            id,
            type,
            source: '/shop',
            subject: `order-${i % 7}`,
            data: { amount: i },
          })),
        ),
      });
      first.child.kill('SIGTERM');
      const stopped = await first.result;
      const second = startServe(args, dir);
      cleanups.push(() => void second.child.kill('SIGKILL'));
      await second.url;
      const received: string[] = [];
      await waitFor(async () => {
        for (;;) {
          const message = await channel.get(queue, { noAck: true });
          if (message === false) break;
          received.push((JSON.parse(message.content.toString()) as { id: string }).id);
        }
        return received.length >= ids.length ? true : undefined;
      });
      await sleep(300);
      const late = await channel.get(queue, { noAck: true });
      second.child.kill('SIGTERM');
      const { code } = await second.result;

      expect(published.status).toBe(201);
      expect(stopped.code).toBe(0);
      expect(received).toEqual(ids);
      expect(late).toBe(false);
      expect(code).toBe(0);
    });
  });
});

describeWithNats('eventfabric serve --transport nats://…', () => {
  it('given a SQLite store, when an event is published over HTTP, then the relay puts it in its context stream on JetStream', async () => {
    const { dir, remove } = tempDir();
    cleanups.push(remove);
    const context = `t${uniqueSuffix()}`;
    const type = `${context}.order.placed.v1`;
    cleanups.push(() => deleteStreams([context]));

    const serve = startServe(['--transport', TEST_NATS_URL], dir);
    cleanups.push(() => void serve.child.kill('SIGKILL'));
    const url = await serve.url;
    const published = await publish(url, { id: 'nats-1', type, subject: 'order-1' });
    const ready = await readyz(url);
    const nc = await natsConnect({ servers: TEST_NATS_URL });
    cleanups.push(() => nc.close());
    const jsm = await jetstreamManager(nc);
    const stored = await waitFor(async () => {
      for await (const name of jsm.streams.names()) {
        if (!name.startsWith(context)) continue;
        const info = await jsm.streams.info(name);
        if (info.state.messages === 1) return jsm.streams.getMessage(name, { seq: 1 });
      }
      return undefined;
    });
    serve.child.kill('SIGTERM');
    const { code } = await serve.result;

    expect(published.status).toBe(201);
    expect(ready.status).toBe(200);
    expect(ready.body.transport).toMatchObject({ status: 'ok', kind: 'nats', connection: 'open' });
    expect(stored?.json()).toMatchObject({ id: 'nats-1', type, subject: 'order-1' });
    expect(code).toBe(0);
  });
});

describe('eventfabric serve --transport: refused before it listens', () => {
  it('given a URL of another scheme, --forward without a broker, a broker nobody answers on, or a malformed pattern, then each exits with its code and serves nothing', async () => {
    const { dir, remove } = tempDir();
    cleanups.push(remove);
    const serve = (args: string[]) =>
      runCli(['serve', '--port', '0', '--json', ...args], { cwd: dir });

    const results = [
      await serve(['--transport', 'kafka://broker:9092']),
      await serve(['--forward', 'shop.*']),
      await serve(['--transport', 'amqp://guest:secret@127.0.0.1:1']),
      await serve(['--transport', 'nats://127.0.0.1:1']),
      await serve(['--transport', 'amqp://127.0.0.1:1', '--forward', 'Shop Orders']),
    ];

    expect(
      results.map((r) => [
        r.code,
        (JSON.parse(r.stderr.trim().split('\n').at(-1)!) as { error: { code: string } }).error.code,
        r.stdout,
      ]),
    ).toEqual([
      [1, 'INVALID_CONFIG', ''],
      [1, 'INVALID_CONFIG', ''],
      [1, 'TRANSPORT_UNAVAILABLE', ''],
      [1, 'TRANSPORT_UNAVAILABLE', ''],
      [2, 'INVALID_ARGUMENT', ''],
    ]);
    expect(results[2]!.stderr).not.toContain('secret');
  });
});
