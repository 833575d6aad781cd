import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
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
import { LEDGER_CONFIG } from './fixtures/ledger.js';

// `eventfabric topology --priority <handler>=<levels>`: a handler's priority queues
// <service>.<handler>.<level>, printed and declared; bad input declares nothing.

describeWithRabbitMq('eventfabric topology --priority on RabbitMQ', () => {
  const { dir, remove } = tempDir();
  const service = `prio${uniqueSuffix()}`;
  const group = `${service}.balances`;
  const levels = ['high', 'normal', 'low'];
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
  const args = (...more: string[]) => [
    'topology',
    '--transport',
    TEST_AMQP_URL,
    '--service',
    service,
    ...more,
  ];

  beforeAll(async () => {
    copyFileSync(LEDGER_CONFIG, join(dir, 'eventfabric.config.mjs'));
    admin = await connect(TEST_AMQP_URL);
  });
  afterAll(async () => {
    await admin.close();
    await deleteTopology({
      queues: [
        ...levels.map((l) => `${group}.${l}`),
        ...queuesOf(group),
        ...queuesOf(`${service}.receipts`),
      ],
      exchanges: [`${group}.priority`, `${group}.priority.default`],
    });
    remove();
  });

  it('given --priority, when printing and declaring, then a queue per level behind the headers exchange', async () => {
    const printed = await runCli(args('--priority', 'balances=high,normal,low@normal'), cwd);

    expect(printed.code).toBe(0);
    const balances = printed.stdout.slice(
      printed.stdout.indexOf(`group ${group}\n`),
      printed.stdout.indexOf(`group ${service}.receipts`),
    );
    expect(balances.split('\n').filter((l) => !l.includes('.retry.'))).toEqual([
      `group ${group}`,
      '  exchange treasury.events (topic, durable)',
      `  queue ${group}.high (work, x-queue-type="quorum")`,
      `  queue ${group}.normal (work, x-queue-type="quorum")`,
      `  queue ${group}.low (work, x-queue-type="quorum")`,
      `  queue ${group}.dlq (dead-letter, x-queue-type="quorum")`,
      `  exchange ${group}.priority (headers, durable, alternate ${group}.priority.default)`,
      `  exchange ${group}.priority.default (fanout, durable)`,
      `  binding treasury.events → exchange ${group}.priority on treasury.*.#`,
      `  binding ${group}.priority → ${group}.high on cloudEvents:priority=high`,
      `  binding ${group}.priority → ${group}.normal on cloudEvents:priority=normal`,
      `  binding ${group}.priority → ${group}.low on cloudEvents:priority=low`,
      `  binding ${group}.priority.default → ${group}.normal (no or an unknown priority)`,
      '',
    ]);
    expect(printed.stdout).toContain(
      `  queue ${group}.retry.100 (retry, x-queue-type="quorum" x-message-ttl=100 x-dead-letter-exchange="${group}.priority"`,
    );
    expect(await exists(`${group}.high`)).toBe(false);

    const declared = await runCli(
      args('--priority', 'balances=high,normal,low@normal', '--declare', '--json'),
      cwd,
    );
    expect(declared.code).toBe(0);
    const json = JSON.parse(declared.stdout) as { groups: { group: string; priority?: unknown }[] };
    expect(json.groups.map((g) => [g.group, g.priority !== undefined])).toEqual([
      [group, true],
      [`${service}.receipts`, false],
    ]);
    for (const level of levels) expect(await exists(`${group}.${level}`)).toBe(true);
    expect(await exists(group)).toBe(false);
  });

  it('given --ordered, when printing, then single-active-consumer partition queues behind a headers exchange', async () => {
    const printed = await runCli(args('--ordered', 'receipts', '--partitions', '2'), cwd);

    expect(printed.code).toBe(0);
    const receipts = printed.stdout.slice(printed.stdout.indexOf(`group ${service}.receipts\n`));
    const r = `${service}.receipts`;
    expect(receipts.split('\n').filter((l) => !l.includes('.retry.'))).toEqual([
      `group ${r}`,
      '  exchange treasury.events (topic, durable)',
      `  queue ${r}.p0 (work, x-queue-type="quorum" x-single-active-consumer=true)`,
      `  queue ${r}.p1 (work, x-queue-type="quorum" x-single-active-consumer=true)`,
      `  queue ${r}.dlq (dead-letter, x-queue-type="quorum")`,
      `  exchange ${r}.partitions (headers, durable, alternate ${r}.partitions.default)`,
      `  exchange ${r}.partitions.default (fanout, durable)`,
      `  binding treasury.events → exchange ${r}.partitions on treasury.contribution.approved.v1`,
      `  binding ${r}.partitions → ${r}.p<n> on eventfabric-partition=<n>, n = 0..1`,
      `  binding ${r}.partitions.default → ${r}.p0 (no partition header)`,
      '',
    ]);
    const bad = await runCli(args('--ordered', 'receipts', '--partitions', 'many'), cwd);
    expect([bad.code, bad.stderr.split('\n')[0]]).toEqual([
      1,
      'error [INVALID_CONFIG]: rabbitmq option partitions must be an integer from 1 to 1024',
    ]);
  });

  it('given bad --priority values, then a clear error and nothing declared', async () => {
    const bad = `${service}x`;
    const cases = [
      {
        args: ['--priority', 'balances'],
        code: 2,
        stderr:
          'error [INVALID_ARGUMENT]: --priority takes <handler>=<level,level,…>[@default], not "balances"\n' +
          '  help: eventfabric topology --help',
      },
      {
        args: ['--priority', 'balance=high,low'],
        code: 1,
        stderr: [
          'error [INVALID_ARGUMENT]: unknown handler "balance"; the config has balances, receipts',
          '  handler: balance',
          '  known: ["balances","receipts"]',
        ].join('\n'),
      },
      {
        args: ['--priority', 'balances=high'],
        code: 1,
        stderr: [
          `error [INVALID_CONFIG]: rabbitmq priorities: ${bad}.balances needs 2 to 10 distinct levels, highest first, each lower-case letters, digits, _ or -`,
          '  option: priorities',
          `  group: ${bad}.balances`,
          '  levels: ["high"]',
        ].join('\n'),
      },
      {
        args: ['--priority', 'balances=high,low@mid'],
        code: 1,
        stderr: [
          `error [INVALID_CONFIG]: rabbitmq priorities: the default of ${bad}.balances must be one of its levels (high, low)`,
          '  option: priorities',
          `  group: ${bad}.balances`,
          '  default: mid',
        ].join('\n'),
      },
    ];
    for (const c of cases) {
      const result = await runCli(
        ['topology', '--transport', TEST_AMQP_URL, '--service', bad, '--declare', ...c.args],
        cwd,
      );
      expect(result, c.args.join(' ')).toEqual({
        code: c.code,
        stdout: '',
        stderr: `${c.stderr}\n`,
      });
    }
    for (const queue of [`${bad}.balances`, `${bad}.balances.high`, `${bad}.receipts`]) {
      expect(await exists(queue)).toBe(false);
    }
  });
});
