import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createConsumer,
  createEvent,
  createInMemoryTransport,
  type CloudEvent,
  type DeadLetter,
  type DeadLetterStore,
} from '@eventfabric/core';
import { ORDER_PLACED, openTestServer, type TestServer } from './server-harness.js';

function deadLetterFor(
  handler: string,
  event: CloudEvent,
  reason: DeadLetter['reason'] = 'exhausted',
): Omit<DeadLetter, 'id' | 'deadLetteredAt'> {
  return {
    handler,
    group: `app.${handler}`,
    origin: 'app.' + handler,
    reason,
    event,
    error: { code: 'HANDLER_FAILED', message: 'boom' },
    attempts: 5,
    firstFailedAt: '2026-01-01T00:00:00.000Z',
    lastFailedAt: '2026-01-01T00:01:00.000Z',
  };
}

function order(subject: string): CloudEvent {
  return createEvent({ type: ORDER_PLACED, source: '/shop', subject, data: { amount: 1 } });
}

describe('/v1/dlq', () => {
  let t: TestServer;
  let handled: string[];
  let entries: DeadLetter[];

  async function seed(deadLetters: DeadLetterStore): Promise<DeadLetter[]> {
    return [
      await deadLetters.add(deadLetterFor('mailer', order('order-1'))),
      await deadLetters.add(deadLetterFor('mailer', order('order-2'), 'poison')),
      await deadLetters.add(deadLetterFor('ledger', order('order-3'))),
    ];
  }

  beforeEach(async () => {
    handled = [];
    t = await openTestServer({
      redrive: (filter) =>
        createConsumer({
          service: 'app',
          transport: createInMemoryTransport(),
          deadLetters: t.deadLetters,
          handlers: [
            {
              name: 'mailer',
              on: [ORDER_PLACED],
              handle: (event) => {
                handled.push(event.subject);
              },
            },
          ],
        }).redrive(filter),
    });
    entries = await seed(t.deadLetters);
  });
  afterEach(() => t.close());

  function send(method: 'GET' | 'POST' | 'DELETE', url: string, payload?: unknown) {
    return t.server.app.inject({
      method,
      url,
      headers: payload === undefined ? {} : { 'content-type': 'application/json' },
      payload:
        payload === undefined
          ? undefined
          : typeof payload === 'string'
            ? payload
            : JSON.stringify(payload),
    });
  }
  const remaining = async () => (await t.deadLetters.list()).map((d) => d.id);

  it('lists them oldest first, filtered, with the total', async () => {
    const all = await send('GET', '/v1/dlq');
    const mailer = await send('GET', '/v1/dlq?handler=mailer&limit=1');

    expect(all.json().deadLetters.map((d: DeadLetter) => d.id)).toEqual(entries.map((e) => e.id));
    expect(mailer.json()).toEqual({ deadLetters: [entries[0]], total: 2 });
  });

  it('shows one whole', async () => {
    const response = await send('GET', `/v1/dlq/${entries[1]!.id}`);

    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual(entries[1]);
  });

  it('retries a selection through its handler, removing what succeeds', async () => {
    const response = await send('POST', '/v1/dlq/retry', { handler: 'mailer' });

    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      redriven: [entries[0]!.id, entries[1]!.id],
      failed: [],
      heldBack: [],
    });
    expect(handled).toEqual(['order-1', 'order-2']);
    expect(await remaining()).toEqual([entries[2]!.id]);
  });

  it('purges a selection, and one by id', async () => {
    const purged = await send('POST', '/v1/dlq/purge', { reason: 'poison' });
    const deleted = await send('DELETE', `/v1/dlq/${entries[2]!.id}`);

    expect(purged.json()).toEqual({ removed: 1 });
    expect(deleted.statusCode).toBe(204);
    expect(await remaining()).toEqual([entries[0]!.id]);
  });

  describe('bad input removes nothing', () => {
    const cases: [string, 'GET' | 'POST' | 'DELETE', string, unknown, number, string][] = [
      ['an unknown id to show', 'GET', '/v1/dlq/nope', undefined, 404, 'DEAD_LETTER_NOT_FOUND'],
      [
        'an unknown id to delete',
        'DELETE',
        '/v1/dlq/nope',
        undefined,
        404,
        'DEAD_LETTER_NOT_FOUND',
      ],
      [
        'an unknown id among ids to purge',
        'POST',
        '/v1/dlq/purge',
        { ids: ['nope'] },
        404,
        'DEAD_LETTER_NOT_FOUND',
      ],
      [
        'an unknown id to retry',
        'POST',
        '/v1/dlq/retry',
        { ids: ['nope'] },
        404,
        'DEAD_LETTER_NOT_FOUND',
      ],
      ['a purge naming nothing', 'POST', '/v1/dlq/purge', {}, 400, 'INVALID_ARGUMENT'],
      [
        'all with a filter',
        'POST',
        '/v1/dlq/purge',
        { all: true, handler: 'mailer' },
        400,
        'INVALID_ARGUMENT',
      ],
      ['an unknown reason', 'POST', '/v1/dlq/purge', { reason: 'bored' }, 400, 'INVALID_ARGUMENT'],
      ['ids that are not strings', 'POST', '/v1/dlq/purge', { ids: [1] }, 400, 'INVALID_ARGUMENT'],
      [
        'an unknown field',
        'POST',
        '/v1/dlq/purge',
        { handlers: 'mailer' },
        400,
        'INVALID_ARGUMENT',
      ],
      ['reason on retry', 'POST', '/v1/dlq/retry', { reason: 'poison' }, 400, 'INVALID_ARGUMENT'],
      ['malformed JSON', 'POST', '/v1/dlq/purge', '{"all":', 400, 'MALFORMED_BODY'],
      ['a body that is an array', 'POST', '/v1/dlq/purge', ['x'], 400, 'MALFORMED_BODY'],
      [
        'an unknown reason filter',
        'GET',
        '/v1/dlq?reason=bored',
        undefined,
        400,
        'INVALID_ARGUMENT',
      ],
      ['a limit of 0', 'GET', '/v1/dlq?limit=0', undefined, 400, 'INVALID_ARGUMENT'],
    ];
    for (const [name, method, url, payload, status, code] of cases) {
      it(`${name}: ${status} ${code}`, async () => {
        const response = await send(method, url, payload);

        expect(response.statusCode).toBe(status);
        expect(response.json().error.code).toBe(code);
        expect(await remaining()).toEqual(entries.map((e) => e.id));
        expect(handled).toEqual([]);
      });
    }
  });

  it('given no redrive, then retry is not a route (404 NOT_FOUND)', async () => {
    const bare = await openTestServer();
    try {
      const response = await bare.server.app.inject({
        method: 'POST',
        url: '/v1/dlq/retry',
        headers: { 'content-type': 'application/json' },
        payload: '{"all":true}',
      });
      expect(response.statusCode).toBe(404);
      expect(response.json().error).toEqual({
        code: 'NOT_FOUND',
        message: 'no route POST /v1/dlq/retry',
        details: { resource: 'route', method: 'POST', route: '/v1/dlq/retry' },
      });
    } finally {
      await bare.close();
    }
  });
});
