import { afterEach, describe, expect, it } from 'vitest';
import { openEmbeddedBackend } from '@eventfabric/habitat';
import { join } from 'node:path';
import { embedded, mountHabitat, temporaryDirectory, type Running } from './harness.js';
import { copyLog, EXPECTED_BALANCES, Q, runCooperative } from './scenario.js';

describe('Habitat end to end on the embedded default (SQLite), through GraphQL', () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const step of cleanup.reverse()) await step();
    cleanup.length = 0;
  });

  it('registers members, approves contributions, closes a period, pays distributions, and a replay of the log reproduces every balance', async () => {
    const tmp = temporaryDirectory();
    cleanup.push(() => tmp.remove());
    const app: Running = await embedded(tmp.dir);
    cleanup.push(() => app.stop());

    await runCooperative(app);
    const balances = await app.ok(Q.balances);
    expect(balances).toEqual(EXPECTED_BALANCES);

    // Replay: the whole log into a fresh store, read models rebuilt from it alone.
    const fresh = await openEmbeddedBackend({ path: join(tmp.dir, 'replica.db') });
    cleanup.push(() => fresh.close());
    const copied = await copyLog(app.backend, fresh);
    expect(copied).toBe(Number(await app.backend.store.headPosition()));
    const replica = await mountHabitat(fresh, { mode: 'read-models' });
    cleanup.push(() => replica.stop());
    await replica.habitat.settled();
    expect(await replica.ok(Q.balances)).toEqual(EXPECTED_BALANCES);
  });
});
