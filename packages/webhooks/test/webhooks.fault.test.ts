import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createEvent, type CloudEvent } from '@eventfabric/core';
import { createSqliteTransport, type SqliteTransport } from '@eventfabric/sqlite';
import {
  TEST_PG_URL,
  describeWithPostgres,
  freshStores,
} from '../../postgres/test/pg-available.js';
import {
  WebhookService,
  createPostgresWebhookStore,
  startWebhookEngine,
  type WebhookEngine,
  type WebhookStore,
} from '../src/index.js';
import { ALLOW_LOOPBACK, openFixture, type Fixture } from './harness.js';
import { Receiver, until } from './receiver.js';

/** The built CLI: `npm test` builds before the fault tier runs. */
const CLI_BIN = fileURLToPath(new URL('../../cli/dist/bin.js', import.meta.url));

const order = (i: number) =>
  createEvent({
    type: 'shop.order.placed.v1',
    source: '/shop',
    subject: `order-${i}`,
    data: { i },
    tenantid: 'acme',
  });

describe('webhook faults against a local receiver', () => {
  let f: Fixture;
  let receiver: Receiver;
  let transport: SqliteTransport | undefined;
  let engine: WebhookEngine | undefined;
  const children: ChildProcess[] = [];

  beforeEach(async () => {
    f = openFixture();
    receiver = new Receiver();
    await receiver.start();
  });
  afterEach(async () => {
    for (const child of children.splice(0)) child.kill('SIGKILL');
    await engine?.stop();
    engine = undefined;
    await transport?.close();
    transport = undefined;
    await receiver.close();
    await f.close();
  });

  it('given a receiver that fails, times out, then recovers, then attempts follow the compressed schedule', async () => {
    const schedule = [200, 400, 800];
    receiver.cues.push(
      { status: 500, body: 'down' },
      { hang: true },
      { status: 503 },
      { status: 204 },
    );
    const subscription = await f.service.create('acme', { url: receiver.url });
    transport = createSqliteTransport({ store: f.events });
    engine = await startWebhookEngine({
      store: f.store,
      transport,
      allow: ALLOW_LOOPBACK,
      retrySchedule: schedule,
      jitter: 0.1,
      timeoutMs: 300,
      leaseMs: 5000,
      pollMs: 20,
    });
    const event = order(1);
    await f.events.appendMany([event]);
    await until(() => receiver.received.length === 4, 'four attempts', 15_000);
    await until(
      async () => (await f.service.deliveries('acme', subscription.id))[0]?.status === 'delivered',
      'delivered',
    );
    const attempts = (await f.service.attempts('acme', subscription.id)).reverse();
    expect(attempts.map((a) => [a.attempt, a.outcome, a.status])).toEqual([
      [1, 'failed', 500],
      [2, 'timeout', undefined],
      [3, 'failed', 503],
      [4, 'delivered', 204],
    ]);
    // Each gap is the scheduled delay ±10 % jitter, measured from the attempt's start (the
    // timed-out attempt adds its 300 ms).
    const starts = attempts.map((a) => a.at);
    const gaps = starts.slice(1).map((at, i) => at - starts[i]!);
    const expected = [200, 300 + 400, 800];
    gaps.forEach((gap, i) => {
      expect(gap).toBeGreaterThanOrEqual(expected[i]! - (i === 1 ? 40 : schedule[i]! * 0.1) - 5);
      expect(gap).toBeLessThanOrEqual(expected[i]! + schedule[i]! * 0.1 + 150);
    });
    expect(new Set(receiver.received.map((r) => r.headers['webhook-id']))).toEqual(
      new Set([event.id]),
    );
  });

  it('given a 410 on one endpoint and continuous failure on another, then each is disabled as configured and a healthy one keeps flowing', async () => {
    const gone = new Receiver();
    const failing = new Receiver();
    await gone.start();
    await failing.start();
    try {
      gone.fallback = { status: 410 };
      failing.fallback = { status: 500 };
      const g = await f.service.create('acme', { url: gone.url, ordered: true });
      const x = await f.service.create('acme', { url: failing.url });
      const ok = await f.service.create('acme', { url: receiver.url });
      transport = createSqliteTransport({ store: f.events });
      engine = await startWebhookEngine({
        store: f.store,
        transport,
        allow: ALLOW_LOOPBACK,
        retrySchedule: Array<number>(20).fill(100),
        jitter: 0,
        disableAfterMs: 600,
        pollMs: 20,
      });
      const started = Date.now();
      await f.events.appendMany([order(1), order(2)]);
      await until(
        async () => !(await f.service.get('acme', g.id)).enabled,
        'the 410 endpoint disabled',
      );
      await until(
        async () => !(await f.service.get('acme', x.id)).enabled,
        'the failing endpoint disabled',
        10_000,
      );
      const disabledGone = await f.service.get('acme', g.id);
      const disabledFailing = await f.service.get('acme', x.id);
      expect(disabledGone.disabledReason).toBe('gone');
      expect(gone.received).toHaveLength(1);
      expect(disabledFailing.disabledReason).toBe('failing');
      expect(disabledFailing.disabledAt! - disabledFailing.failingSince!).toBeGreaterThanOrEqual(
        600,
      );
      expect(disabledFailing.disabledAt! - started).toBeLessThan(2000);
      const attemptsWhenDisabled = failing.received.length;
      await until(() => receiver.received.length === 2, 'the healthy endpoint');
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(failing.received).toHaveLength(attemptsWhenDisabled);
      await until(
        async () =>
          (await f.service.deliveries('acme', ok.id)).map((d) => d.status).join() ===
          'delivered,delivered',
        'both healthy deliveries settled',
      );
    } finally {
      await gone.close();
      await failing.close();
    }
  });

  it('given the engine process killed with SIGKILL mid-retry and restarted, then no delivery is lost (SQLite)', async () => {
    await killMidRetry({
      storeUrl: `sqlite:${join(f.dir, 'store.db')}`,
      append: (events) => f.events.appendMany(events),
      service: f.service,
      store: f.store,
      receiver,
      children,
    });
  }, 60_000);
});

describeWithPostgres('webhook faults on PostgreSQL', () => {
  const stores = freshStores('ef_webhooks_fault', 4);
  const children: ChildProcess[] = [];
  let receiver: Receiver;
  beforeEach(async () => {
    receiver = new Receiver();
    await receiver.start();
  });
  afterEach(async () => {
    for (const child of children.splice(0)) child.kill('SIGKILL');
    await receiver.close();
  });
  afterAll(() => stores.cleanup());

  it('given the engine process killed with SIGKILL mid-retry and restarted, then no delivery is lost (PostgreSQL)', async () => {
    const store = await stores.open();
    const webhooks = createPostgresWebhookStore(store);
    const url = new URL(TEST_PG_URL);
    url.searchParams.set('schema', store.schema);
    await killMidRetry({
      storeUrl: url.href,
      append: (events) => store.appendMany(events),
      service: new WebhookService({ store: webhooks, events: store, allow: ALLOW_LOOPBACK }),
      store: webhooks,
      receiver,
      children,
    });
  }, 60_000);
});

interface KillScenario {
  storeUrl: string;
  append: (events: CloudEvent[]) => Promise<unknown>;
  service: WebhookService;
  store: WebhookStore;
  receiver: Receiver;
  children: ChildProcess[];
}

/**
 * Run `eventfabric webhooks run` as a child process against a failing receiver, SIGKILL it
 * while deliveries wait for their retries, append more while it is down, restart it (its
 * first request then hangs past the timeout), and check every event arrives and every
 * delivery is delivered; a SIGTERM then stops it cleanly.
 */
async function killMidRetry(s: KillScenario): Promise<void> {
  const subscription = await s.service.create('acme', { url: s.receiver.url });
  const events = Array.from({ length: 5 }, (_, i) => order(i));
  await s.append(events.slice(0, 3));
  const run = () => {
    const child = spawn(
      process.execPath,
      [
        CLI_BIN,
        '--store',
        s.storeUrl,
        'webhooks',
        'run',
        '--allow',
        '127.0.0.1/32',
        '--retry-schedule',
        '400,400,400,400,400',
        '--jitter',
        '0',
        '--timeout-ms',
        '300',
        '--lease-ms',
        '1000',
        '--poll-ms',
        '50',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) =>
      child.once('exit', (code) => {
        if (code !== null && code !== 0) console.error(`webhooks run exited ${code}: ${stderr}`);
        resolve(code);
      }),
    );
    s.children.push(child);
    return { child, exited };
  };
  // The first six requests fail: the first run dies with retries scheduled.
  for (let i = 0; i < 6; i++) s.receiver.cues.push({ status: 500, body: 'retry me' });
  const first = run();
  await until(
    async () =>
      (await s.store.listAttempts({ subscriptionId: subscription.id, limit: 100 })).length >= 3,
    'failed attempts',
    20_000,
  );
  first.child.kill('SIGKILL');
  await first.exited;
  // It died mid-retry: deliveries wait for their next attempt, none delivered yet.
  const atKill = await s.service.deliveries('acme', subscription.id, { limit: 100 });
  expect(atKill.filter((d) => d.status === 'pending' && d.attempts >= 1).length).toBeGreaterThan(0);
  expect(atKill.filter((d) => d.status === 'delivered')).toEqual([]);
  // Events appended while no engine runs are fanned out after the restart.
  await s.append(events.slice(3));
  // The restarted engine's first request hangs past its timeout, and is retried too.
  s.receiver.cues.unshift({ hang: true });
  const second = run();
  await until(
    async () =>
      (await s.service.deliveries('acme', subscription.id, { limit: 100 })).filter(
        (d) => d.status === 'delivered',
      ).length === 5,
    'every delivery delivered',
    40_000,
  );
  const seen = new Set(s.receiver.received.map((r) => r.headers['webhook-id'] as string));
  expect([...seen].sort()).toEqual(events.map((e) => e.id).sort());
  const deliveries = await s.service.deliveries('acme', subscription.id, { limit: 100 });
  expect(deliveries.map((d) => d.eventId).sort()).toEqual(events.map((e) => e.id).sort());
  expect(deliveries.every((d) => d.status === 'delivered')).toBe(true);
  second.child.kill('SIGTERM');
  expect(await second.exited).toBe(0);
}
