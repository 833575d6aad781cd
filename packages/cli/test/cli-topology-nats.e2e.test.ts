import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { describeWithNats, TEST_NATS_URL } from '../../nats/test/nats-available.js';
import { runCli, tempDir } from './cli-harness.js';

// `eventfabric topology --transport nats://…`: the streams and consumers the config's
// handlers would declare, and what the server holds; it declares nothing.

const config = fileURLToPath(new URL('./fixtures/handlers.config.mjs', import.meta.url));

interface Output {
  transport: string;
  planned: {
    streams: { label: string; name: string }[];
    consumers: { stream: string; group: string }[];
  } | null;
  declared: { streams: { name: string }[] };
}

describeWithNats('eventfabric topology on NATS', () => {
  const { dir, remove } = tempDir();
  afterAll(remove);

  it('prints the plan for the handlers and the server’s streams, declaring nothing', async () => {
    copyFileSync(config, join(dir, 'eventfabric.config.mjs'));
    const service = `natstopo${Date.now().toString(36)}`;
    const args = ['topology', '--transport', TEST_NATS_URL, '--service', service];

    const json = await runCli([...args, '--json'], { cwd: dir });
    const human = await runCli(args, { cwd: dir });

    expect(json.code).toBe(0);
    const output = JSON.parse(json.stdout) as Output;
    expect(output.transport).toBe(TEST_NATS_URL);
    expect(output.planned!.streams.map((s) => s.label)).toEqual(['treasury.events']);
    expect([...new Set(output.planned!.consumers.map((c) => c.group))].sort()).toEqual([
      `${service}.balances`,
      `${service}.receipts`,
    ]);
    // Planning declared nothing: no consumer of this service exists on the server.
    expect(JSON.stringify(output.declared)).not.toContain(service);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(
      /^would declare \(when the groups subscribe\):\nstream treasury\.events/,
    );
    expect(human.stdout).toContain('declared on the server:');
  });

  it('refuses --declare and a malformed transport URL with INVALID_CONFIG', async () => {
    const declare = await runCli(
      ['topology', '--transport', TEST_NATS_URL, '--declare', '--json'],
      { cwd: dir },
    );
    const malformed = await runCli(['topology', '--transport', 'natz://x', '--json'], { cwd: dir });
    for (const result of [declare, malformed]) {
      expect(result.code).toBe(1);
      expect(JSON.parse(result.stderr)).toMatchObject({ error: { code: 'INVALID_CONFIG' } });
    }
  });
});
