import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { createEvent, type CloudEvent } from '@eventfabric/core';
import { Kvm, type KV } from '@nats-io/kv';
import { afterAll, expect, it } from 'vitest';
import {
  createNatsDeadLetterStore,
  createNatsTransport,
  type NatsTransport,
} from '../src/index.js';
import {
  deleteStreams,
  describeWithNats,
  restartNatsServer,
  startNatsServer,
  TEST_NATS_URL,
  uniqueToken,
} from './nats-available.js';

const WORKER = fileURLToPath(new URL('./fixtures/nats-chaos-worker.mjs', import.meta.url));
const EVENTS = 10_000;
const KEYS = 200;
/** Every 97th event fails on purpose: 103 dead letters. */
const FAILS_EVERY = 97;

const ns = uniqueToken('chaos');

describeWithNats('NATS chaos', () => {
  afterAll(async () => {
    await startNatsServer();
    await deleteStreams([`${ns}_`, `KV_${ns}_`]);
  });

  it('10 000 events through 2 server restarts and 2 consumer SIGKILLs: every effect exactly once, and the DLQ holds exactly the deliberate failures', async () => {
    const workers = new Map<string, ChildProcess>();
    /** Events delivered more than once, and those whose effect a redelivery found done. */
    const seen = { again: new Set<string>(), 'done-before': new Set<string>() };
    const spawnWorker = async (name: string): Promise<void> => {
      const child = spawn(process.execPath, [WORKER, TEST_NATS_URL, ns, name], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      workers.set(name, child);
      const [chunk] = (await once(child.stdout!, 'data')) as [Buffer];
      expect(chunk.toString()).toContain('ready');
      child.stdout!.on('data', (data: Buffer) => {
        for (const line of data.toString().split('\n')) {
          const [what, id] = line.split(' ');
          if (what === 'again' || what === 'done-before') seen[what].add(id!);
        }
      });
    };
    const kill = async (name: string): Promise<void> => {
      const child = workers.get(name)!;
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    };
    const publisher: NatsTransport = await createNatsTransport({
      servers: TEST_NATS_URL,
      namePrefix: `${ns}_`,
      subjectPrefix: ns,
      partitions: 8,
      consumer: { ackWaitMs: 3000, maxDeliver: 50 },
    });
    let effects: KV | undefined;
    try {
      await spawnWorker('w1');
      await spawnWorker('w2');
      effects = await new Kvm(publisher.nc).create(`${ns}_effects`, { history: 1 });
      const events: CloudEvent[] = Array.from({ length: EVENTS }, (_, n) =>
        createEvent({
          type: 'chaos.entry.posted.v1',
          source: '/chaos',
          subject: `account-${n % KEYS}`,
          data: { n, fail: n % FAILS_EVERY === 0 },
        }),
      );
      const failing = events.filter((e) => (e.data as { fail: boolean }).fail);
      const effected = async (): Promise<number> => (await effects!.status()).values;

      // Publish in 20 slices, one every ~400 ms, and disturb the run between slices.
      const disturbances: Record<number, () => Promise<void>> = {
        4: async () => {
          await kill('w1');
          await spawnWorker('w1');
        },
        8: () => restartNatsServer(),
        12: async () => {
          await kill('w2');
          await spawnWorker('w2');
        },
        16: () => restartNatsServer(),
      };
      const slice = EVENTS / 20;
      for (let i = 0; i < 20; i++) {
        await publisher.publish(events.slice(i * slice, (i + 1) * slice));
        await disturbances[i]?.();
        await new Promise((resolve) => setTimeout(resolve, 400));
      }

      const store = await createNatsDeadLetterStore(publisher);
      const deadline = Date.now() + 90_000;
      let done = 0;
      let lettered = 0;
      while (Date.now() < deadline) {
        [done, lettered] = await Promise.all([effected(), store.count()]);
        if (done === EVENTS - failing.length && lettered === failing.length) break;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      // Anything still in flight (a duplicate effect, a second dead letter) lands meanwhile.
      await new Promise((resolve) => setTimeout(resolve, 4000));

      const keys: string[] = [];
      for await (const key of await effects.keys()) keys.push(key);
      const expected = events
        .filter((e) => !(e.data as { fail: boolean }).fail)
        .map((e) => Buffer.from(e.id).toString('base64url'));
      expect(keys.length).toBe(expected.length);
      expect(keys.sort()).toEqual(expected.sort());
      // One revision per key: no effect was ever written twice.
      expect((await effects.status()).values).toBe(expected.length);
      const letters = await store.list({ limit: 10_000 });
      expect(letters.map((l) => l.event.id).sort()).toEqual(failing.map((e) => e.id).sort());
      expect(new Set(letters.map((l) => `${l.reason} ${l.error.code} ${l.group}`))).toEqual(
        new Set(['non_retryable NON_RETRYABLE chaos.ledger']),
      );
      expect(letters.every((l) => l.error.message === 'a deliberate failure')).toBe(true);
      // The kills and restarts did bite: some events came again (handled, or held, by a
      // process that died, or acked into a server that went away).
      expect(seen.again.size, 'events delivered more than once').toBeGreaterThan(0);
      console.log(
        `chaos: ${seen.again.size} events redelivered, ${seen['done-before'].size} found their effect done`,
      );
    } finally {
      await Promise.all(
        [...workers.values()].map(async (child) => {
          if (child.exitCode !== null || child.signalCode !== null) return;
          const exited = once(child, 'exit');
          child.kill('SIGKILL');
          await exited;
        }),
      );
      await startNatsServer();
      await publisher.close();
    }
  }, 180_000);
});
