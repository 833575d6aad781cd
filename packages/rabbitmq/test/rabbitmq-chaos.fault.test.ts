import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { createEvent, type CloudEvent } from '@eventfabric/core';
import { createSqliteDeadLetterStore } from '@eventfabric/sqlite';
import { afterAll, expect, it } from 'vitest';
import { createRabbitMqTransport, deadLetterQueueName, retryQueueName } from '../src/index.js';
import {
  deleteTopology,
  describeWithRabbitMq,
  restartRabbitMq,
  TEST_AMQP_URL,
  uniqueSuffix,
  waitForBroker,
} from './rabbitmq-available.js';

const worker = fileURLToPath(new URL('./fixtures/chaos-consumer.mjs', import.meta.url));
const EVENTS = 10_000;
const BATCH = 250;
/** Every 500th event fails on purpose, and must end in the dead letters. */
const FAILING = (n: number): boolean => n % 500 === 499;

interface Worker {
  child: ChildProcess;
  ready: Promise<void>;
  exited: Promise<unknown>;
}

function startWorker(path: string, context: string): Worker {
  const child = spawn(process.execPath, [worker, TEST_AMQP_URL, path, context], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise((resolve) => child.on('exit', resolve));
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve();
    });
    void exited.then(() => reject(new Error(`worker exited before ready: ${stderr}`)));
  });
  return { child, ready, exited };
}

function readEffects(path: string): { event_id: string; applied: number }[] {
  const db = new Database(path, { readonly: true });
  try {
    db.pragma('busy_timeout = 5000');
    const exists = db
      .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'effects'")
      .get();
    return exists
      ? (db.prepare('SELECT event_id, applied FROM effects').all() as {
          event_id: string;
          applied: number;
        }[])
      : [];
  } finally {
    db.close();
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describeWithRabbitMq('RabbitMQ chaos', () => {
  const context = `chaos${uniqueSuffix()}`;
  const group = `${context}.effects`;
  const dir = mkdtempSync(join(tmpdir(), 'ef-rabbit-chaos-'));
  const path = join(dir, 'effects.db');
  const workers: Worker[] = [];

  afterAll(async () => {
    for (const w of workers) w.child.kill('SIGKILL');
    await waitForBroker();
    await deleteTopology({
      queues: [
        group,
        deadLetterQueueName(group),
        ...[100, 500].map((d) => retryQueueName(group, d)),
      ],
      exchanges: [`${context}.events`],
    });
    rmSync(dir, { recursive: true, force: true });
  });

  it('through two broker restarts and two consumer SIGKILLs, 10 000 events have their effect exactly once, and the dead letters hold exactly the deliberate failures', async () => {
    const spawnWorker = async (): Promise<Worker> => {
      const w = startWorker(path, context);
      workers.push(w);
      await w.ready;
      return w;
    };
    const live = [await spawnWorker(), await spawnWorker()];
    const events: CloudEvent[] = Array.from({ length: EVENTS }, (_, n) =>
      createEvent({
        type: `${context}.contribution.approved.v1`,
        source: '/chaos',
        subject: `contribution-${n % 200}`,
        data: { n, fail: FAILING(n) },
      }),
    );
    const publisher = await createRabbitMqTransport({
      url: TEST_AMQP_URL,
      reconnectMaxDelayMs: 1000,
    });
    let republished = 0;
    const chaos: Promise<unknown>[] = [];
    try {
      for (let start = 0, batch = 0; start < EVENTS; start += BATCH, batch++) {
        // The chaos, spread over the run, concurrent with publishing and consuming.
        if (batch === 8 || batch === 24) {
          const victim = live.shift()!;
          victim.child.kill('SIGKILL');
          await victim.exited;
          live.push(await spawnWorker());
        }
        if (batch === 14 || batch === 32) {
          await Promise.all(chaos);
          chaos.push(restartRabbitMq());
        }
        const slice = events.slice(start, start + BATCH);
        // A publish that fails while the broker is away is repeated with the same ids: the
        // idempotency record makes the duplicates harmless.
        for (;;) {
          try {
            await publisher.publish(slice);
            // Paced, so the chaos lands while events are still being published and handled.
            await sleep(150);
            break;
          } catch (error) {
            if ((error as { code?: string }).code !== 'TRANSPORT_UNAVAILABLE') throw error;
            republished++;
            await sleep(200);
          }
        }
      }
      await Promise.all(chaos);
    } finally {
      await publisher.close();
    }

    const failing = events.filter((e) => (e.data as { fail: boolean }).fail);
    const expectedEffects = events.length - failing.length;
    const deadLetters = createSqliteDeadLetterStore(path);
    const deadline = Date.now() + 90_000;
    while (Date.now() < deadline) {
      if (
        readEffects(path).length === expectedEffects &&
        (await deadLetters.count()) >= failing.length
      ) {
        break;
      }
      await sleep(250);
    }
    // Anything still to come (a duplicate, a second dead letter) shows up meanwhile.
    await sleep(1000);
    for (const w of live) w.child.kill('SIGTERM');
    await Promise.all(live.map((w) => w.exited));

    const effects = readEffects(path);
    const dead = await deadLetters.list({ limit: 100 });
    deadLetters.close();

    expect(effects.length).toBe(expectedEffects);
    expect(effects.filter((row) => row.applied !== 1)).toEqual([]);
    const failingIds = new Set(failing.map((e) => e.id));
    expect(effects.filter((row) => failingIds.has(row.event_id))).toEqual([]);
    expect(new Set(effects.map((row) => row.event_id)).size).toBe(expectedEffects);
    // Exactly the deliberate failures are dead-lettered, each once: a failure whose ack was
    // lost to a restart or a kill after its dead letter was stored fails again on
    // redelivery, and the store keeps its first dead letter (idempotent on handler, event id).
    expect(dead.map((d) => d.event.id).sort()).toEqual([...failingIds].sort());
    for (const d of dead) {
      const { n } = d.event.data as { n: number };
      expect([d.reason, d.error.code, d.error.message, d.handler, d.group, d.origin]).toEqual([
        'non_retryable',
        'NON_RETRYABLE',
        `deliberate failure ${n}`,
        'effects',
        group,
        group,
      ]);
    }
    console.info(`chaos: ${republished} batch publishes repeated`);
  }, 180_000);
});
