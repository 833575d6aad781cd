import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import { Receiver } from '../../webhooks/test/receiver.js';
import { collect, spawnCli, tempDir, until } from './cli-harness.js';

const INCOMING_SECRET =
  'whsec_' + Buffer.from('incoming-secret-for-the-e2e-test').toString('base64');

/** Start `serve` in `cwd` and resolve with its URL once it prints it. */
async function startServe(args: string[], cwd: string) {
  const child = spawnCli(['serve', '--port', '0', ...args], { cwd });
  const result = collect(child);
  let seen = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(seen);
      if (match) resolve(match[1]!);
    });
    child.on('exit', (code) => reject(new Error(`serve exited with ${code}: ${seen}`)));
  });
  return { child, result, url, stdout: () => seen };
}

describe('eventfabric serve with webhooks', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('delivers a published event to a subscription, signed, and stores a verified incoming webhook', async () => {
    const { dir, remove } = tempDir();
    cleanups.push(remove);
    writeFileSync(
      join(dir, 'eventfabric.config.mjs'),
      `export default { hooks: { billing: { scheme: 'standard', secrets: ['${INCOMING_SECRET}'], type: 'billing.invoice.paid.v1' } } };\n`,
    );
    const receiver = new Receiver();
    await receiver.start();
    cleanups.push(() => receiver.close());
    const serve = await startServe(['--webhook-allow', '127.0.0.1/32'], dir);
    cleanups.push(() => void serve.child.kill('SIGKILL'));
    const { url } = serve;
    expect(serve.stdout()).toContain(`webhooks       ${url}/v1/webhooks`);
    expect(serve.stdout()).toContain(`incoming  POST ${url}/v1/hooks/{billing}`);

    // Outgoing: a subscription, then an event published over HTTP arrives signed.
    const created = await fetch(`${url}/v1/webhooks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url: receiver.url, types: ['shop.*'] }),
    });
    expect(created.status).toBe(201);
    const { secret, id } = (await created.json()) as { secret: string; id: string };
    const published = await fetch(`${url}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents+json' },
      body: JSON.stringify({
        specversion: '1.0',
        id: 'order-placed-1',
        type: 'shop.order.placed.v1',
        source: '/shop',
        subject: 'order-1',
        data: { amount: 12 },
      }),
    });
    expect(published.status).toBe(201);
    await until(
      async () => receiver.received.length,
      (n) => n >= 1,
      'the webhook delivery',
    );
    const [delivery] = receiver.received;
    expect(delivery!.headers['webhook-id']).toBe('order-placed-1');
    const verified = new Webhook(secret).verify(delivery!.body, {
      'webhook-id': String(delivery!.headers['webhook-id']),
      'webhook-timestamp': String(delivery!.headers['webhook-timestamp']),
      'webhook-signature': String(delivery!.headers['webhook-signature']),
    }) as { id: string; data: unknown };
    expect(verified.id).toBe('order-placed-1');
    expect(verified.data).toEqual({ amount: 12 });
    const log = await until(
      async () =>
        (await (await fetch(`${url}/v1/webhooks/${id}/deliveries`)).json()) as {
          deliveries: { status: string }[];
        },
      (body) => body.deliveries[0]?.status === 'delivered',
      'the delivery log',
    );
    expect(log.deliveries).toHaveLength(1);

    // Incoming: signed by the standardwebhooks library, stored once; a bad signature stores nothing.
    const body = JSON.stringify({ invoice: 'inv-9', cents: 4500 });
    const now = new Date();
    const signature = new Webhook(INCOMING_SECRET).sign('msg_inv_9', now, body);
    const headers = {
      'content-type': 'application/json',
      'webhook-id': 'msg_inv_9',
      'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
      'webhook-signature': signature,
    };
    const accepted = await fetch(`${url}/v1/hooks/billing`, { method: 'POST', headers, body });
    expect(accepted.status).toBe(201);
    const forged = await fetch(`${url}/v1/hooks/billing`, {
      method: 'POST',
      headers: { ...headers, 'webhook-id': 'msg_forged', 'webhook-signature': 'v1,AAAA' },
      body,
    });
    expect(forged.status).toBe(401);
    expect(((await forged.json()) as { error: { code: string } }).error.code).toBe(
      'WEBHOOK_SIGNATURE_INVALID',
    );
    const stored = (await (
      await fetch(`${url}/v1/events?type=billing.invoice.paid.v1`)
    ).json()) as { events: { data: unknown }[] };
    expect(stored.events.map((e) => e.data)).toEqual([{ invoice: 'inv-9', cents: 4500 }]);

    serve.child.kill('SIGTERM');
    expect((await serve.result).code).toBe(0);
  });

  it('refuses a malformed hooks field in the config file before listening', async () => {
    const { dir, remove } = tempDir();
    cleanups.push(remove);
    writeFileSync(join(dir, 'eventfabric.config.mjs'), `export default { hooks: ['billing'] };\n`);
    const child = spawnCli(['serve', '--port', '0', '--json'], { cwd: dir });
    const result = await collect(child);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stderr).error.code).toBe('INVALID_CONFIG');
    expect(result.stdout).not.toContain('listening');
  });
});
