import { randomBytes } from 'node:crypto';
import { connect } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeadLetter } from '@eventfabric/core';
import {
  createRabbitMqDeadLetterStore,
  createRabbitMqTransport,
  deadLetterQueueName,
  DEFAULT_RETRY_DELAYS_MS,
  retryQueueName,
  type RabbitMqTransport,
} from '@eventfabric/rabbitmq';
import { runCli, tempDir } from './cli-harness.js';
import { treasuryEvent, writeLedgerConfig } from './fixtures/ledger.js';

// `eventfabric dlq … --transport amqp://…` against a real RabbitMQ: dead letters are seeded
// into <service>.<handler>.dlq as a consumer with the RabbitMQ dead-letter store leaves them,
// then the built CLI lists, shows, re-drives and purges them. Each test checks the queues'
// exact contents afterwards.

const AMQP_URL = process.env.EVENTFABRIC_TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

async function reachable(): Promise<string | undefined> {
  try {
    await (await connect(AMQP_URL, { timeout: 3000 })).close();
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}
const unreachable = await reachable();
if (unreachable !== undefined && process.env.CI === 'true') {
  throw new Error(`RabbitMQ unreachable at ${AMQP_URL}: ${unreachable} (CI=true: failing)`);
}
if (unreachable !== undefined) {
  console.warn(
    `\n⚠ SKIPPING "eventfabric dlq --transport amqp": RabbitMQ unreachable: ${unreachable}\n`,
  );
}
const describeWithRabbitMq = unreachable === undefined ? describe : describe.skip;

const { dir, remove } = tempDir();
const service = `dlq${randomBytes(5).toString('hex')}`;
const balances = `${service}.balances`;
const receipts = `${service}.receipts`;
const REFUNDED = 'treasury.refund.issued.v1';
const amqp = ['--transport', AMQP_URL, '--service', service];
const cli = (args: string[], env: Record<string, string> = {}) => runCli(args, { cwd: dir, env });

let transport: RabbitMqTransport;
const queues = [balances, receipts].flatMap((g) => [
  g,
  deadLetterQueueName(g),
  ...DEFAULT_RETRY_DELAYS_MS.map((d) => retryQueueName(g, d)),
]);

/** Every message of a .dlq, in order, by dead-letter id (a folded copy shows twice). */
async function dlqIds(group: string): Promise<string[]> {
  const session = await transport.openDeadLetterQueue(group);
  try {
    return session.held.map((h) => h.entry.id);
  } finally {
    await session.release();
  }
}

/** Take every message of a work queue: event ids and the headers they came with. */
async function drainWorkQueue(queue: string): Promise<{ id: string; headers: string[] }[]> {
  const model = await connect(AMQP_URL);
  try {
    const channel = await model.createChannel();
    const out: { id: string; headers: string[] }[] = [];
    for (;;) {
      const message = await channel.get(queue, { noAck: true });
      if (message === false) return out;
      const event = JSON.parse(message.content.toString()) as { id: string };
      // x-delivery-count is the work queue's own (quorum), set as it delivers to this reader.
      const headers = Object.keys(message.properties.headers ?? {});
      out.push({ id: event.id, headers: headers.filter((h) => h !== 'x-delivery-count') });
    }
  } finally {
    await model.close();
  }
}

async function snapshot() {
  return {
    balances: await dlqIds(balances),
    receipts: await dlqIds(receipts),
    work: await drainWorkQueue(balances),
  };
}

describeWithRabbitMq('eventfabric dlq --transport amqp://', () => {
  let seeded: DeadLetter[] = [];
  let malformedId = '';

  beforeAll(async () => {
    writeLedgerConfig(dir);
    transport = await createRabbitMqTransport({ url: AMQP_URL });
    for (const [group, on] of [
      [balances, ['treasury.*']],
      [receipts, ['treasury.contribution.approved.v1']],
    ] as const) {
      await transport.declare(transport.topologyFor(group, on));
    }
    const store = createRabbitMqDeadLetterStore({ transport, groups: [balances, receipts] });
    const add = (group: string, event: DeadLetter['event'], extra: Partial<DeadLetter> = {}) =>
      store.add({
        handler: group.slice(service.length + 1),
        group,
        origin: group,
        reason: 'exhausted',
        event,
        error: { code: 'HANDLER_FAILED', message: `failed on ${event.id}`, stack: 'Error: x' },
        attempts: 5,
        firstFailedAt: '2025-03-01T10:00:00.000Z',
        lastFailedAt: '2025-03-01T10:00:09.500Z',
        ...extra,
      });
    const e1 = treasuryEvent({ id: 'e-1', member: 9, cents: -1 });
    seeded = [
      await add(balances, e1),
      await add(balances, treasuryEvent({ id: 'e-2', member: 9, cents: 50, type: REFUNDED }), {
        reason: 'non_retryable',
        error: { code: 'NON_RETRYABLE', message: 'refund exceeds balance', details: { b: 0 } },
      }),
      await add(balances, treasuryEvent({ id: 'e-3', member: 8, cents: 70 })),
      await add(receipts, treasuryEvent({ id: 'e-4', member: 8, cents: 70 })),
    ];
    // A copy of e-1's dead letter (its ack was lost): the CLI shows one.
    await add(balances, e1, { attempts: 6 });
    // And a message that is not a CloudEvent, as the subscription dead-letters it.
    const model = await connect(AMQP_URL);
    const channel = await model.createConfirmChannel();
    channel.sendToQueue(deadLetterQueueName(balances), Buffer.from('{oops'), {
      contentType: 'application/json',
      headers: {
        'x-eventfabric-dead-letter-id': '01900000-0000-7000-8000-000000000001',
        'x-eventfabric-reason': 'malformed',
        'x-eventfabric-error-code': 'INVALID_EVENT',
        'x-eventfabric-error-message': 'not a CloudEvent',
      },
    });
    await channel.waitForConfirms();
    await model.close();
    malformedId = '01900000-0000-7000-8000-000000000001';
  });

  afterAll(async () => {
    const model = await connect(AMQP_URL);
    for (const queue of queues) {
      const channel = await model.createChannel();
      channel.on('error', () => undefined);
      await channel.deleteQueue(queue).catch(() => undefined);
      await channel.close().catch(() => undefined);
    }
    // treasury.events stays: other tests may bind to it; an exchange costs the broker little.
    await model.close().catch(() => undefined);
    await transport?.close();
    remove();
  });

  const id = (i: number) => seeded[i]!.id;

  it('given dead letters in two .dlq queues, when listing twice, then the same table, in queue order, copies folded, nothing lost', async () => {
    const before = await dlqIds(balances);
    const first = await cli(['dlq', 'list', ...amqp]);
    const second = await cli(['dlq', 'list', ...amqp]);

    expect(first).toEqual(second);
    expect(first.code).toBe(0);
    const lines = first.stdout.trimEnd().split('\n');
    expect(lines.map((l) => l.split(/\s+/).slice(0, 4))).toEqual([
      ['ID', 'QUEUE', 'TYPE', 'REASON'],
      [id(0), `${balances}.dlq`, 'treasury.contribution.approved.v1', 'exhausted'],
      [id(1), `${balances}.dlq`, REFUNDED, 'non_retryable'],
      [id(2), `${balances}.dlq`, 'treasury.contribution.approved.v1', 'exhausted'],
      [malformedId, `${balances}.dlq`, '-', 'malformed'],
      [id(3), `${receipts}.dlq`, 'treasury.contribution.approved.v1', 'exhausted'],
      ['5', 'dead', 'letters'],
    ]);
    expect(await dlqIds(balances)).toEqual(before);
    // The .dlq itself holds e-1's copy too, after e-3, where it was added.
    expect([before.length, ...before.slice(0, 3), before[4]]).toEqual([
      5,
      id(0),
      id(1),
      id(2),
      malformedId,
    ]);
  });

  it('given --json and filters, when listing, then NDJSON of whole dead letters that match', async () => {
    const result = await cli(['dlq', 'list', ...amqp, '--handler', 'balances', '--json']);
    const entries = result.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: string; event: unknown; queue: string });
    expect(entries.map((e) => e.id)).toEqual([id(0), id(1), id(2), malformedId]);
    expect(entries[1]).toEqual({ ...seeded[1], queue: `${balances}.dlq` });

    const poison = await cli(['dlq', 'list', ...amqp, '--reason', 'malformed', '--json']);
    expect(
      poison.stdout
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l).id),
    ).toEqual([malformedId]);
    const typed = await cli(['dlq', 'list', ...amqp, '--type', REFUNDED, '--limit', '1']);
    expect(typed.stdout.split('\n').slice(-2)).toEqual(['1 dead letter', '']);
  });

  it('given an id, when showing it, then the whole dead letter; a malformed one shows its body', async () => {
    const shown = await cli(['dlq', 'show', id(1), ...amqp]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain(`dead letter ${id(1)}\n  queue          ${balances}.dlq\n`);
    expect(shown.stdout).toContain('  error          NON_RETRYABLE: refund exceeds balance\n');
    expect(shown.stdout).toContain('  details        {"b":0}\n');
    expect(shown.stdout).toContain('  event e-2\n');
    const json = await cli(['dlq', 'show', id(1), ...amqp, '--json']);
    expect(JSON.parse(json.stdout)).toEqual({ ...seeded[1], queue: `${balances}.dlq` });
    const bad = await cli(['dlq', 'show', malformedId, ...amqp]);
    expect(bad.stdout).toContain('  body (not a CloudEvent)\n    {oops\n');
  });

  describe('given bad input', () => {
    const cases = () => [
      {
        name: 'an unknown --queue',
        args: ['dlq', 'list', ...amqp, '--queue', `${service}.nosuch`],
        code: 1,
        stderr: [
          `error [NOT_FOUND]: queue ${service}.nosuch.dlq does not exist`,
          '  resource: queue',
          `  queue: ${service}.nosuch.dlq`,
        ].join('\n'),
      },
      {
        name: 'a --handler the config lacks, to retry',
        args: ['dlq', 'retry', ...amqp, '--handler', 'balance'],
        code: 1,
        stderr: [
          'error [INVALID_ARGUMENT]: unknown handler "balance"; the config has balances, receipts',
          '  handler: balance',
          '  known: ["balances","receipts"]',
        ].join('\n'),
      },
      {
        name: 'a malformed broker URL',
        args: ['dlq', 'purge', '--all', '--yes', '--transport', 'amqp:/127.0.0.1'],
        code: 1,
        stderr: [
          'error [INVALID_CONFIG]: dlq purge: --transport must be amqp://user:password@host:port/vhost (RabbitMQ) or nats://host:port (NATS JetStream) (or EVENTFABRIC_TRANSPORT)',
          '  transport: amqp:/127.0.0.1',
        ].join('\n'),
      },
      {
        name: 'a broker that does not answer',
        args: ['dlq', 'retry', '--all', '--transport', 'amqp://guest:secret@127.0.0.1:1'],
        code: 1,
        stderrStart: 'error [TRANSPORT_UNAVAILABLE]: cannot connect to RabbitMQ',
      },
      {
        name: 'a known id and an unknown one, to retry',
        args: ['dlq', 'retry', id(1), 'no-such-id', ...amqp],
        code: 1,
        stderr: 'error [DEAD_LETTER_NOT_FOUND]: no dead letter no-such-id\n  id: no-such-id',
      },
      {
        name: 'a known id and an unknown one, to purge',
        args: ['dlq', 'purge', id(0), 'no-such-id', '--yes', ...amqp],
        code: 1,
        stderr: 'error [DEAD_LETTER_NOT_FOUND]: no dead letter no-such-id\n  id: no-such-id',
      },
      {
        name: 'an unknown id to show',
        args: ['dlq', 'show', 'no-such-id', ...amqp],
        code: 1,
        stderr: 'error [DEAD_LETTER_NOT_FOUND]: no dead letter no-such-id\n  id: no-such-id',
      },
      {
        name: '--queue with --handler (usage)',
        args: ['dlq', 'list', ...amqp, '--queue', balances, '--handler', 'balances'],
        code: 2,
        stderr:
          'error [INVALID_ARGUMENT]: --queue names the queue; do not combine it with --handler\n' +
          '  help: eventfabric dlq --help',
      },
      {
        name: '--queue without a broker (usage)',
        args: ['dlq', 'list', '--queue', balances],
        code: 2,
        stderr:
          'error [INVALID_ARGUMENT]: --queue names a RabbitMQ queue: add --transport amqp://…\n' +
          '  help: eventfabric dlq list --help',
      },
      {
        name: 'a NATS URL',
        args: ['dlq', 'list', '--transport', 'nats://127.0.0.1:4222'],
        code: 1,
        stderr:
          'error [INVALID_CONFIG]: dlq --transport takes a RabbitMQ URL (amqp://…); nats://127.0.0.1:4222 is NATS, whose dead letters the consumer keeps in its dead-letter store\n' +
          '  transport: nats://127.0.0.1:4222',
      },
    ];

    it('rejects each with its code and message, and changes nothing', async () => {
      const before = await snapshot();
      // One at a time: each reading run holds a .dlq's lock while it runs.
      for (const c of cases()) {
        const result = await cli(c.args);
        expect([result.code, result.stdout], c.name).toEqual([c.code, '']);
        if ('stderrStart' in c) expect(result.stderr.startsWith(c.stderrStart!), c.name).toBe(true);
        else expect(result.stderr, c.name).toBe(`${c.stderr}\n`);
        expect(result.stderr, c.name).not.toContain('secret');
      }
      expect(await snapshot()).toEqual(before);
      expect(before.work).toEqual([]);
    });

    it('takes EVENTFABRIC_TRANSPORT when --transport is not given', async () => {
      const result = await cli(['dlq', 'list', '--service', service, '--queue', receipts], {
        EVENTFABRIC_TRANSPORT: AMQP_URL,
      });
      expect(result.stdout.split('\n').slice(-2)).toEqual(['1 dead letter', '']);
    });
  });

  it('given ids out of order, when retrying, then both copies leave the .dlq once confirmed and the work queue gets them in .dlq order, without dead-letter headers', async () => {
    const result = await cli(['dlq', 'retry', id(1), id(0), ...amqp, '--json']);

    expect(result).toEqual({
      code: 0,
      stdout: `${JSON.stringify({ redriven: [id(0), id(1)], failed: [], heldBack: [] })}\n`,
      stderr: '',
    });
    expect(await drainWorkQueue(balances)).toEqual([
      { id: 'e-1', headers: [] },
      { id: 'e-2', headers: [] },
    ]);
    expect(await dlqIds(balances)).toEqual([id(2), malformedId]);
    expect(await dlqIds(receipts)).toEqual([id(3)]);
  });

  it('given a malformed dead letter, when retrying it, then it fails with INVALID_EVENT and stays', async () => {
    const result = await cli(['dlq', 'retry', '--all', ...amqp]);
    expect(result.code).toBe(1);
    expect(result.stdout.split('\n')).toEqual([
      expect.stringMatching(new RegExp(`^redriven +${id(2)} +${balances}.dlq +treasury`)),
      expect.stringMatching(new RegExp(`^failed +${malformedId} +${balances}.dlq +-`)),
      '  INVALID_EVENT: not a CloudEvent: a re-drive would only dead-letter it again',
      expect.stringMatching(new RegExp(`^redriven +${id(3)} +${receipts}.dlq`)),
      '2 redriven to their work queue, 1 failed; the failed stay dead letters',
      '',
    ]);
    expect((await drainWorkQueue(balances)).map((m) => m.id)).toEqual(['e-3']);
    expect((await drainWorkQueue(receipts)).map((m) => m.id)).toEqual(['e-4']);
    expect(await dlqIds(balances)).toEqual([malformedId]);
    expect(await dlqIds(receipts)).toEqual([]);
  });

  it('given --reason malformed and --yes, when purging, then exactly that one is removed', async () => {
    const result = await cli(['dlq', 'purge', '--reason', 'malformed', '--yes', ...amqp]);
    expect(result).toEqual({ code: 0, stdout: 'removed 1 dead letter\n', stderr: '' });
    expect(await dlqIds(balances)).toEqual([]);
  });
});
