import { afterEach, describe, expect, it } from 'vitest';
import type { StoredEvent } from '@eventfabric/core';
import type { ServerLimits } from '../src/index.js';
import { openTestServer, orderEvent, type TestServer } from './server-harness.js';
import { SseClient } from './sse-client.js';

describe('GET /v1/subscribe (SSE over real HTTP)', () => {
  let t: TestServer;
  let base: string;
  const clients: SseClient[] = [];

  async function start(limits: Partial<ServerLimits> = {}, schemas: 'strict' | 'none' = 'strict') {
    t = await openTestServer({ limits, schemas });
    base = await t.server.listen({ port: 0, host: '127.0.0.1' });
  }

  async function subscribe(query = '', headers: Record<string, string> = {}, paused = false) {
    const client = new SseClient(`${base}/v1/subscribe${query}`, headers, { paused });
    clients.push(client);
    await client.connected();
    return client;
  }

  async function publish(events: Record<string, unknown>[]) {
    const response = await fetch(`${base}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents-batch+json' },
      body: JSON.stringify(events),
    });
    expect(response.status).toBe(201);
    return ((await response.json()) as { positions: string[] }).positions;
  }

  async function metric(name: string): Promise<string> {
    const text = await (await fetch(`${base}/metrics`)).text();
    return text
      .split('\n')
      .filter((line) => line.startsWith(name))
      .join('\n');
  }

  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    await t.close();
  });

  it('given a type and stream filter, then only matching events arrive live, each with its position as id and the stored event as data', async () => {
    await start();
    await publish([orderEvent({ id: 'before' })]);
    const client = await subscribe('?type=shop.order.*&stream=order-1');

    const positions = await publish([
      orderEvent({ id: 'm-1', subject: 'order-1' }),
      orderEvent({ id: 'skip-stream', subject: 'order-2' }),
      orderEvent({ id: 'm-2', subject: 'order-1' }),
    ]);
    await client.until(() => client.ids().length === 2);

    expect(client.status).toBe(200);
    expect(client.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(client.ids()).toEqual([positions[0], positions[2]]);
    const stored = await t.store.readStream('order-1');
    expect(client.messages.map((m) => JSON.parse(m.data) as StoredEvent)).toEqual(stored.slice(1));
  });

  it('given Last-Event-ID after a disconnect, then the stream resumes with no gap and no duplicate', async () => {
    await start({}, 'none');
    const first = await subscribe('?after=0&category=order');
    const batch1 = await publish(
      [1, 2, 3].map((n) => orderEvent({ id: `r-${n}`, subject: `order-${n}` })),
    );
    await first.until(() => first.ids().length === 3);
    first.close();
    const batch2 = await publish(
      [4, 5].map((n) => orderEvent({ id: `r-${n}`, subject: `order-${n}` })),
    );
    await publish([orderEvent({ id: 'other', subject: 'payment-1' })]);

    const resumed = await subscribe('?category=order', { 'last-event-id': first.ids().at(-1)! });
    const batch3 = await publish([orderEvent({ id: 'r-6', subject: 'order-6' })]);
    await resumed.until(() => resumed.ids().length === 3);

    expect([...first.ids(), ...resumed.ids()]).toEqual([...batch1, ...batch2, ...batch3]);
  });

  it('given no cursor, then the stream starts at the end of the log: live events only', async () => {
    await start();
    await publish([orderEvent({ id: 'old' })]);
    const client = await subscribe();

    const [position] = await publish([orderEvent({ id: 'new' })]);
    await client.until(() => client.ids().length === 1);

    expect(client.ids()).toEqual([position]);
    expect(client.comments).toContain('subscribed after position 1');
  });

  it('sends heartbeats while idle', async () => {
    await start({ sseHeartbeatMs: 50 });
    const client = await subscribe();

    await client.until(() => client.comments.filter((c) => c === 'heartbeat').length >= 2);

    expect(client.messages).toEqual([]);
  });

  it('drops a client that stops reading, with SLOW_CONSUMER as its last message, and releases its subscription', async () => {
    await start({ sseSlowClientTimeoutMs: 200 }, 'none');
    const pad = 'x'.repeat(60_000);
    for (let i = 0; i < 8; i++) {
      await publish(
        Array.from({ length: 50 }, (_, n) => orderEvent({ id: `slow-${i}-${n}`, data: { pad } })),
      );
    }
    const client = await subscribe('?after=0', {}, true);

    await expectEventually(async () =>
      expect(await metric('eventfabric_sse_clients_dropped_total')).toBe(
        'eventfabric_sse_clients_dropped_total{reason="slow_consumer"} 1',
      ),
    );
    client.resume();
    await client.until(() => client.isEnded, 10_000);

    const last = client.messages.at(-1)!;
    expect(last.event).toBe('end');
    const end = JSON.parse(last.data) as {
      reason: string;
      error: { code: string; details: { position: string; timeoutMs: number } };
    };
    expect(end.reason).toBe('slow_consumer');
    expect(end.error.code).toBe('SLOW_CONSUMER');
    expect(end.error.details.timeoutMs).toBe(200);
    // Every event written before the drop arrived, in order, ending at the reported position.
    const ids = client.ids();
    expect(ids.length).toBeLessThan(400);
    expect(ids).toEqual(ids.map((_, i) => String(i + 1)));
    expect(ids.at(-1)).toBe(end.error.details.position);
    expect(await metric('eventfabric_sse_clients ')).toBe('eventfabric_sse_clients 0');
  });

  it('ends every stream with reason shutdown when the server closes', async () => {
    await start();
    const client = await subscribe();

    await t.server.close();
    await client.until(() => client.isEnded);

    expect(client.messages).toEqual([{ event: 'end', data: '{"reason":"shutdown"}' }]);
  });

  it('refuses a client past sseMaxClients with 429 RATE_LIMITED', async () => {
    await start({ sseMaxClients: 1 });
    await subscribe();

    const response = await fetch(`${base}/v1/subscribe`);

    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('5');
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe(
      'RATE_LIMITED',
    );
  });

  const bad: [string, string, Record<string, string>][] = [
    ['a Last-Event-ID that is not a position', '', { 'last-event-id': 'abc' }],
    ['a malformed type pattern', '?type=a..b', {}],
    ['an unknown parameter', '?limit=3', {}],
    ['a malformed after', '?after=1.5', {}],
  ];
  for (const [name, query, headers] of bad) {
    it(`given ${name}, then 400 INVALID_ARGUMENT before any stream opens`, async () => {
      await start();

      const response = await fetch(`${base}/v1/subscribe${query}`, { headers });

      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe(
        'INVALID_ARGUMENT',
      );
      expect(await metric('eventfabric_sse_clients ')).toBe('eventfabric_sse_clients 0');
    });
  }
});

async function expectEventually(check: () => Promise<void>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}
