import { spawnSync } from 'node:child_process';
import { createEvent, type CloudEvent } from '@eventfabric/core';
import type { ChannelModel } from 'amqplib';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  createRabbitMqTransport,
  registerRabbitMqMetrics,
  type RabbitMqTransport,
} from '../src/index.js';
import {
  deleteTopology,
  describeWithRabbitMq,
  queuesOf,
  TEST_AMQP_URL,
  uniqueSuffix,
} from './rabbitmq-available.js';

/** Every sample of the registry, as `name{labels}` → value. */
async function samples(registry: Registry): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const metric of await registry.getMetricsAsJSON()) {
    for (const value of metric.values) {
      const labels = Object.entries(value.labels)
        .map(([k, v]) => `${k}=${String(v)}`)
        .join(',');
      out[`${metric.name}{${labels}}`] = value.value;
    }
  }
  return out;
}

async function until(done: () => Promise<boolean> | boolean, what: string, ms = 15_000) {
  const deadline = Date.now() + ms;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Drop the transport's TCP connection under it, as a network failure would. */
function dropConnection(transport: RabbitMqTransport): void {
  const model = (transport as unknown as { connection: { now: ChannelModel | undefined } })
    .connection.now;
  (
    model as unknown as { connection: { stream: { destroy(error: Error): void } } }
  ).connection.stream.destroy(new Error('connection dropped by the test'));
}

describeWithRabbitMq('RabbitMQ transport metrics', () => {
  const suffix = uniqueSuffix();
  const group = `m${suffix}.counted`;
  const type = `m${suffix}.item.added.v1`;
  let transport: RabbitMqTransport;
  const registry = new Registry();
  const event = (n: number): CloudEvent =>
    createEvent({ type, source: '/t', subject: `item-${n}`, data: { n } });

  beforeAll(async () => {
    transport = await createRabbitMqTransport({
      url: TEST_AMQP_URL,
      reconnectInitialDelayMs: 50,
      reconnectMaxDelayMs: 200,
    });
    registerRabbitMqMetrics(transport, { registry, connection: 'main' });
  });
  afterAll(async () => {
    await transport.close();
    await deleteTopology({ queues: queuesOf(group), exchanges: [`m${suffix}.events`] });
  });

  it('reads back connection state, publishes by outcome, unconfirmed publishes, losses and reconnects', async () => {
    // Given a group bound to the type, and nothing published yet.
    const subscription = await transport.subscribe(group, (d) => d.ack(), { topics: [type] });
    expect(await samples(registry)).toEqual({
      'eventfabric_rabbitmq_connection_state{connection=main,state=connecting}': 0,
      'eventfabric_rabbitmq_connection_state{connection=main,state=open}': 1,
      'eventfabric_rabbitmq_connection_state{connection=main,state=reconnecting}': 0,
      'eventfabric_rabbitmq_connection_state{connection=main,state=closed}': 0,
      'eventfabric_rabbitmq_connection_losses_total{connection=main}': 0,
      'eventfabric_rabbitmq_reconnects_total{connection=main}': 0,
      'eventfabric_rabbitmq_publishes_unconfirmed{connection=main}': 0,
      'eventfabric_rabbitmq_publishes_total{connection=main,outcome=confirmed}': 0,
      'eventfabric_rabbitmq_publishes_total{connection=main,outcome=returned}': 0,
      'eventfabric_rabbitmq_publishes_total{connection=main,outcome=failed}': 0,
      'eventfabric_rabbitmq_consumers{connection=main}': 1,
    });

    // When 500 events are published, then one nobody is bound to.
    let unconfirmedSeen = 0;
    const publishing = transport.publish(Array.from({ length: 500 }, (_, n) => event(n)));
    await until(async () => {
      const now = (await samples(registry))[
        'eventfabric_rabbitmq_publishes_unconfirmed{connection=main}'
      ]!;
      unconfirmedSeen = Math.max(unconfirmedSeen, now);
      return now > 0;
    }, 'publishes awaiting their confirm');
    await publishing;
    await expect(
      transport.publish([
        createEvent({ type: `m${suffix}.other.added.v1`, source: '/t', subject: 'x', data: {} }),
      ]),
    ).rejects.toMatchObject({ code: 'UNROUTABLE_EVENT' });

    // Then the counts say so, and nothing waits for a confirm any more.
    const after = await samples(registry);
    expect(unconfirmedSeen).toBeGreaterThan(0);
    expect([
      after['eventfabric_rabbitmq_publishes_total{connection=main,outcome=confirmed}'],
      after['eventfabric_rabbitmq_publishes_total{connection=main,outcome=returned}'],
      after['eventfabric_rabbitmq_publishes_total{connection=main,outcome=failed}'],
      after['eventfabric_rabbitmq_publishes_unconfirmed{connection=main}'],
    ]).toEqual([500, 1, 0, 0]);

    // When the connection drops under publishes in flight.
    const inFlight = transport.publish(Array.from({ length: 2000 }, (_, n) => event(n)));
    await until(() => transport.status().unconfirmed > 0, 'publishes in flight');
    dropConnection(transport);
    const failure = await inFlight.then(
      () => undefined,
      (error: { code?: string }) => error.code,
    );

    // Then the loss is counted at once, and the reconnect once it is made good.
    expect(failure).toBe('TRANSPORT_UNAVAILABLE');
    const lost = await samples(registry);
    expect(lost['eventfabric_rabbitmq_connection_losses_total{connection=main}']).toBe(1);
    expect(lost['eventfabric_rabbitmq_publishes_total{connection=main,outcome=failed}']).toBe(
      transport.status().published.failed,
    );
    expect(transport.status().published.failed).toBeGreaterThan(0);
    await until(() => transport.status().connection === 'open', 'the connection to come back');
    const back = await samples(registry);
    expect([
      back['eventfabric_rabbitmq_connection_state{connection=main,state=open}'],
      back['eventfabric_rabbitmq_connection_losses_total{connection=main}'],
      back['eventfabric_rabbitmq_reconnects_total{connection=main}'],
      back['eventfabric_rabbitmq_publishes_unconfirmed{connection=main}'],
    ]).toEqual([1, 1, 1, 0]);
    await subscription.close();
    expect((await samples(registry))['eventfabric_rabbitmq_consumers{connection=main}']).toBe(0);
  });

  it('exposes metrics promtool check metrics accepts (where promtool is installed)', async () => {
    const exposition = await registry.metrics();
    const lint = spawnSync('promtool', ['check', 'metrics'], {
      input: exposition,
      encoding: 'utf8',
    });
    if (lint.error !== undefined) {
      if (process.env.CI === 'true') throw lint.error;
      console.warn(`\n⚠ promtool not installed: metrics not linted (${lint.error.message})\n`);
      return;
    }
    expect([lint.status, lint.stdout, lint.stderr]).toEqual([0, '', '']);
    expect(exposition).toContain('# TYPE eventfabric_rabbitmq_publishes_total counter');
  });
});
