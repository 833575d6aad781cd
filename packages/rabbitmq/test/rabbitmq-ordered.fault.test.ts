import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createEvent, type CloudEvent } from '@eventfabric/core';
import { afterAll, expect, it } from 'vitest';
import {
  createRabbitMqTransport,
  deadLetterQueueName,
  DEFAULT_RETRY_DELAYS_MS,
  partitionQueueName,
  retryQueueName,
} from '../src/index.js';
import {
  deleteTopology,
  describeWithRabbitMq,
  TEST_AMQP_URL,
  uniqueSuffix,
} from './rabbitmq-available.js';

const worker = fileURLToPath(new URL('./fixtures/ordered-consumer.mjs', import.meta.url));
const KEYS = 20;
const SEQS = 30;

interface Member {
  child: ChildProcess;
  /** key → seqs handled, in the order this process handled them. */
  handled: Map<string, number[]>;
  count: () => number;
  ready: Promise<void>;
  exited: Promise<unknown>;
}

function startMember(group: string, type: string): Member {
  const child = spawn(process.execPath, [worker, TEST_AMQP_URL, group, type], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const handled = new Map<string, number[]>();
  let count = 0;
  let buffer = '';
  let stderr = '';
  let onReady!: () => void;
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    const lines = buffer.split('\n');
    buffer = lines.pop()!;
    for (const line of lines) {
      if (line === 'ready') onReady();
      const match = /^handled (\S+) (\d+)$/.exec(line);
      if (!match) continue;
      const seqs = handled.get(match[1]!) ?? [];
      seqs.push(Number(match[2]));
      handled.set(match[1]!, seqs);
      count++;
    }
  });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  void exited.then(() => {
    if (stderr !== '') console.error(stderr);
  });
  return { child, handled, count: () => count, ready, exited };
}

async function until(done: () => boolean, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The seqs as one run from `first`: every number once, in order, none skipped. */
function contiguous(seqs: readonly number[]): boolean {
  return seqs.every((seq, i) => i === 0 || seq === seqs[i - 1]! + 1);
}

describeWithRabbitMq('RabbitMQ ordered groups across processes', () => {
  const context = `ord${uniqueSuffix()}`;
  const group = `${context}.ledger`;
  const type = `${context}.entry.posted.v1`;
  const members: Member[] = [];

  afterAll(async () => {
    for (const m of members) m.child.kill('SIGKILL');
    await deleteTopology({
      queues: [
        ...Array.from({ length: 8 }, (_, n) => partitionQueueName(group, n)),
        deadLetterQueueName(group),
        ...DEFAULT_RETRY_DELAYS_MS.map((d) => retryQueueName(group, d)),
      ],
      exchanges: [`${group}.partitions`, `${group}.partitions.default`, `${context}.events`],
    });
  });

  it('given two member processes, when the active one is SIGKILLed mid-run, then every key is handled in order by one process at a time, the other taking over', async () => {
    // Given two members of one ordered group, each its own process.
    const first = startMember(group, type);
    members.push(first);
    await first.ready;
    const second = startMember(group, type);
    members.push(second);
    await second.ready;

    // When 20 keys × 30 events are published, interleaved, and the member handling them is
    // killed a third of the way through.
    const publisher = await createRabbitMqTransport({
      url: TEST_AMQP_URL,
      orderedGroups: [group],
      partitions: 8,
    });
    const events: CloudEvent[] = [];
    for (let seq = 0; seq < SEQS; seq++) {
      for (let k = 0; k < KEYS; k++) {
        events.push(
          createEvent({
            type,
            source: '/t',
            subject: `account-${k}`,
            data: { key: `account-${k}`, seq },
          }),
        );
      }
    }
    await publisher.publish(events);
    await publisher.close();
    await until(() => first.count() + second.count() >= 200, 'a third of the handlings');
    const [active, standby] = first.count() > 0 ? [first, second] : [second, first];
    active.child.kill('SIGKILL');
    await active.exited;
    await until(
      () =>
        [...Array(KEYS).keys()].every((k) => {
          const key = `account-${k}`;
          const seqs = [...(active.handled.get(key) ?? []), ...(standby.handled.get(key) ?? [])];
          return new Set(seqs).size === SEQS;
        }),
      'every event handled',
    );
    standby.child.kill('SIGTERM');
    await standby.exited;

    // Then, per key, the killed member handled 0..a in order, and the other took over from
    // at most a + 1 (redelivering what was not acked) and went on in order to the end: no
    // process ever skipped ahead of the other within a key.
    const report = [...Array(KEYS).keys()].map((k) => {
      const key = `account-${k}`;
      const a = active.handled.get(key) ?? [];
      const b = standby.handled.get(key) ?? [];
      return {
        key,
        ok:
          contiguous(a) &&
          (a.length === 0 || a[0] === 0) &&
          contiguous(b) &&
          (b.length === 0 || b[0]! <= (a.length === 0 ? 0 : a[a.length - 1]! + 1)) &&
          (b.length === 0 ? a[a.length - 1] === SEQS - 1 : b[b.length - 1] === SEQS - 1),
        a: a.length === 0 ? '-' : `${a[0]}..${a[a.length - 1]}`,
        b: b.length === 0 ? '-' : `${b[0]}..${b[b.length - 1]}`,
      };
    });
    expect(report.filter((r) => !r.ok)).toEqual([]);
    // Both processes did real work: the kill landed mid-run, and the standby took over.
    expect(active.count()).toBeGreaterThan(0);
    expect(standby.count()).toBeGreaterThan(0);
    expect(active.count() + standby.count()).toBeGreaterThanOrEqual(KEYS * SEQS);
  }, 60_000);
});
