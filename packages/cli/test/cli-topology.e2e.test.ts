import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, type ChannelModel } from 'amqplib';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  deleteTopology,
  describeWithRabbitMq,
  queuesOf,
  TEST_AMQP_URL,
  uniqueSuffix,
} from '../../rabbitmq/test/rabbitmq-available.js';
import { runCli, tempDir } from './cli-harness.js';

// `eventfabric topology --transport amqp://…`: prints, and with --declare declares, the
// queues of the config's handlers; bad input is a clear error that declares nothing.

const config = fileURLToPath(new URL('./fixtures/handlers.config.mjs', import.meta.url));

describeWithRabbitMq('eventfabric topology on RabbitMQ', () => {
  const { dir, remove } = tempDir();
  const service = `topo${uniqueSuffix()}`;
  const groups = ['balances', 'receipts', 'audit'].map((h) => `${service}.${h}`);
  const cwd = { cwd: dir };
  let admin: ChannelModel;

  const exists = async (queue: string): Promise<boolean> => {
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

  beforeAll(async () => {
    copyFileSync(config, join(dir, 'eventfabric.config.mjs'));
    admin = await connect(TEST_AMQP_URL);
  });

  afterAll(async () => {
    await admin.close();
    await deleteTopology({ queues: groups.flatMap(queuesOf) });
    remove();
  });

  it('prints what the handlers would declare, and declares nothing', async () => {
    const result = await runCli(
      ['topology', '--transport', TEST_AMQP_URL, '--service', service],
      cwd,
    );

    expect(result.code).toBe(0);
    expect(result.stdout).toContain('would declare (run with --declare):');
    expect(result.stdout).toContain(`group ${service}.balances`);
    expect(result.stdout).toContain(
      `queue ${service}.balances.retry.100 (retry, x-queue-type="quorum" x-message-ttl=100`,
    );
    expect(result.stdout).toContain(
      `binding treasury.events → ${service}.balances on treasury.*.#`,
    );
    expect(await exists(`${service}.balances`)).toBe(false);
  });

  it('declares with --declare, idempotently, and says so in JSON', async () => {
    const args = ['topology', '--transport', TEST_AMQP_URL, '--service', service, '--declare'];
    const first = await runCli([...args, '--json'], cwd);
    const second = await runCli(args, cwd);

    expect([first.code, second.code]).toEqual([0, 0]);
    const output = JSON.parse(first.stdout) as {
      transport: string;
      declared: boolean;
      groups: { group: string }[];
    };
    expect(output.transport).toBe(TEST_AMQP_URL.replace(/:[^:@/]*@/, ':***@'));
    expect(output.declared).toBe(true);
    expect(output.groups.map((g) => g.group)).toContain(`${service}.balances`);
    for (const queue of queuesOf(`${service}.balances`)) expect(await exists(queue)).toBe(true);
    expect(second.stdout).toContain('declared:');
  });

  it('fails with TOPOLOGY_CONFLICT naming the queue when it exists as another type', async () => {
    const conflicted = `${service}x`;
    groups.push(`${conflicted}.balances`, `${conflicted}.receipts`, `${conflicted}.audit`);
    const channel = await admin.createChannel();
    await channel.assertQueue(`${conflicted}.balances`, { durable: true });
    await channel.close();

    const result = await runCli(
      ['topology', '--transport', TEST_AMQP_URL, '--service', conflicted, '--declare'],
      cwd,
    );

    expect(result.code).toBe(1);
    expect(result.stderr).toContain('[TOPOLOGY_CONFLICT]');
    expect(result.stderr).toContain(`queue ${conflicted}.balances`);
    expect(await exists(`${conflicted}.balances.dlq`)).toBe(false);
  });

  const badCases: { name: string; args: string[]; code: number; stderr: string }[] = [
    { name: 'no --transport', args: [], code: 1, stderr: '[INVALID_CONFIG]' },
    {
      name: 'a transport that is not amqp://',
      args: ['--transport', 'postgres://x@127.0.0.1/db'],
      code: 1,
      stderr: '[INVALID_CONFIG]',
    },
    {
      name: 'an unknown queue type',
      args: ['--transport', TEST_AMQP_URL, '--queue-type', 'lazy'],
      code: 1,
      stderr: '[INVALID_CONFIG]',
    },
    {
      name: 'an unreachable broker, with --declare',
      args: ['--transport', 'amqp://guest:secret@127.0.0.1:1', '--declare'],
      code: 1,
      stderr: '[TRANSPORT_UNAVAILABLE]',
    },
    {
      name: 'a malformed service name',
      args: ['--transport', TEST_AMQP_URL, '--service', 'Not A Service'],
      code: 2,
      stderr: 'service',
    },
  ];
  for (const bad of badCases) {
    it(`rejects ${bad.name}, declaring nothing`, async () => {
      const bogus = `${service}bad`;
      const result = await runCli(['topology', '--service', bogus, ...bad.args], cwd);

      expect(result.code).toBe(bad.code);
      expect(result.stderr).toContain(bad.stderr);
      expect(result.stderr).not.toContain('secret');
      expect(await exists(`${bogus}.balances`)).toBe(false);
    });
  }
});
