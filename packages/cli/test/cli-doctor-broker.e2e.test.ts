import { afterEach, describe, expect, it } from 'vitest';
import { TEST_AMQP_URL, describeWithRabbitMq } from '../../rabbitmq/test/rabbitmq-available.js';
import { TEST_NATS_URL, describeWithNats } from '../../nats/test/nats-available.js';
import { redactUrl } from '../src/transport-url.js';
import { runCli, tempDir } from './cli-harness.js';

interface DoctorReport {
  ok: boolean;
  checks: { check: string; status: string; message: string; code?: string }[];
}

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

async function doctor(transport: string) {
  const { dir, remove } = tempDir();
  cleanups.push(remove);
  const result = await runCli(
    ['doctor', '--store', 'sqlite::memory:', '--transport', transport, '--json'],
    { cwd: dir },
  );
  const report = result.stdout === '' ? undefined : (JSON.parse(result.stdout) as DoctorReport);
  return { code: result.code, stderr: result.stderr, transport: report?.checks.at(-1), report };
}

describeWithRabbitMq('eventfabric doctor --transport amqp://…', () => {
  it('given a broker that answers, then the transport check passes and doctor exits 0', async () => {
    const { code, transport, report } = await doctor(TEST_AMQP_URL);

    expect(code).toBe(0);
    expect(report?.ok).toBe(true);
    expect(transport).toEqual({
      check: 'transport',
      status: 'ok',
      message: `RabbitMQ at ${redactUrl(TEST_AMQP_URL)} answers`,
      kind: 'amqp',
      connection: 'open',
      reconnects: 0,
    });
  });
});

describeWithNats('eventfabric doctor --transport nats://…', () => {
  it('given a server with JetStream, then the transport check passes with its round trip', async () => {
    const { code, transport } = await doctor(TEST_NATS_URL);

    expect(code).toBe(0);
    expect(transport).toEqual({
      check: 'transport',
      status: 'ok',
      message: `NATS JetStream at ${TEST_NATS_URL} answers`,
      kind: 'nats',
      connection: 'open',
      reconnects: 0,
      rttMs: expect.any(Number) as unknown,
    });
  });
});

describe('eventfabric doctor --transport (no broker needed)', () => {
  it('given brokers nobody listens on, then the transport check fails with TRANSPORT_UNAVAILABLE and doctor exits 1', async () => {
    const amqp = await doctor('amqp://guest:secret@127.0.0.1:1');
    const nats = await doctor('nats://127.0.0.1:1');

    expect([amqp.code, amqp.report?.ok, amqp.transport]).toEqual([
      1,
      false,
      {
        check: 'transport',
        status: 'fail',
        message:
          'RabbitMQ at amqp://guest:***@127.0.0.1:1: cannot connect to RabbitMQ: connect ECONNREFUSED 127.0.0.1:1',
        code: 'TRANSPORT_UNAVAILABLE',
      },
    ]);
    expect([nats.code, nats.transport]).toEqual([
      1,
      {
        check: 'transport',
        status: 'fail',
        message:
          'NATS JetStream at nats://127.0.0.1:1: cannot connect to NATS at nats://127.0.0.1:1: connection refused',
        code: 'TRANSPORT_UNAVAILABLE',
      },
    ]);
  });

  it('given a URL of another scheme, then INVALID_CONFIG before anything is opened', async () => {
    const { code, stderr, report } = await doctor('kafka://broker:9092');

    expect(code).toBe(1);
    expect(report).toBeUndefined();
    expect(JSON.parse(stderr)).toEqual({
      error: {
        code: 'INVALID_CONFIG',
        message:
          'unknown transport URL "kafka://broker:9092"; expected embedded, postgres://…, amqp://… or nats://…',
        details: { transport: 'kafka://broker:9092' },
      },
    });
  });
});
