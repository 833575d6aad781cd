import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { openTestServer, orderEvent, type TestServer } from './server-harness.js';

const RULES_DIR = fileURLToPath(new URL('../../../deploy/prometheus/', import.meta.url));

const promtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
const missing = promtool.error === undefined ? undefined : promtool.error.message;

/** Run only with promtool (Debian's `prometheus`): skip loudly without it, fail in CI. */
function describeWithPromtool(name: string, body: () => void): void {
  if (missing === undefined) {
    describe(name, body);
    return;
  }
  const reason = `promtool is not installed (apt-get install prometheus): ${missing}`;
  if (process.env.CI === 'true') throw new Error(`${name}: ${reason} (CI=true: failing)`);
  console.warn(`\n⚠ SKIPPING "${name}": ${reason}\n`);
  describe.skip(`${name} (skipped: ${reason})`, body);
}

function run(args: string[], input?: string) {
  return spawnSync('promtool', args, { cwd: RULES_DIR, encoding: 'utf8', input });
}

describeWithPromtool('Prometheus rules and exposition (promtool)', () => {
  let t: TestServer | undefined;
  afterEach(async () => {
    await t?.close();
  });

  it('deploy/prometheus/alerts.yml passes promtool check rules', () => {
    const result = run(['check', 'rules', 'alerts.yml']);

    expect(result.stderr).toBe('');
    expect(result.stdout).toContain('SUCCESS: 13 rules found');
    expect(result.status).toBe(0);
  });

  it('the alerts fire as alerts.test.yml expects (promtool test rules)', () => {
    const result = run(['test', 'rules', 'alerts.test.yml']);

    expect(result.stdout).toContain('SUCCESS');
    expect(result.status).toBe(0);
  });

  it('/metrics passes promtool check metrics, transport metrics included', async () => {
    t = await openTestServer({
      transport: {
        kind: 'amqp',
        location: 'amqp://guest:***@127.0.0.1:5672',
        status: () => ({ connected: true, reconnects: 2, unconfirmed: 0 }),
        ready: async () => ({}),
      },
    });
    await t.server.app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: { 'content-type': 'application/cloudevents+json' },
      payload: JSON.stringify(orderEvent()),
    });
    const metrics = (await t.server.app.inject({ method: 'GET', url: '/metrics' })).body;

    const result = run(['check', 'metrics'], metrics);

    expect(metrics).toContain('eventfabric_transport_connected{transport="amqp"} 1');
    expect(metrics).toContain('eventfabric_transport_reconnects_total{transport="amqp"} 2');
    expect(result.stdout + result.stderr).toBe('');
    expect(result.status).toBe(0);
  });
});
