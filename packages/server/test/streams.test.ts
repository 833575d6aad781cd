import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { allEvents, openTestServer, orderEvent, type TestServer } from './server-harness.js';

const JSON_TYPE = { 'content-type': 'application/json' };

describe('/v1/streams/:id', () => {
  let t: TestServer;
  beforeEach(async () => {
    t = await openTestServer({ limits: { maxBatchSize: 2, maxPageSize: 3 } });
  });
  afterEach(() => t.close());

  function append(
    stream: string,
    payload: unknown,
    headers: Record<string, string> = {},
    query = '',
  ) {
    return t.server.app.inject({
      method: 'POST',
      url: `/v1/streams/${stream}${query}`,
      headers: { ...JSON_TYPE, ...headers },
      payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
    });
  }

  function read(stream: string, query = '') {
    return t.server.app.inject({ method: 'GET', url: `/v1/streams/${stream}${query}` });
  }

  describe('POST (append)', () => {
    it('given If-None-Match: * on a new stream, then the events are appended; the subject defaults to the stream', async () => {
      const response = await append(
        'order-5',
        [
          orderEvent({ id: 'a-1', subject: undefined }),
          orderEvent({ id: 'a-2', subject: undefined }),
        ],
        { 'if-none-match': '*' },
      );

      expect(response.statusCode).toBe(201);
      expect(response.headers.etag).toBe('"1"');
      expect(response.json()).toEqual({
        streamId: 'order-5',
        streamVersion: 1,
        position: '2',
        positions: ['1', '2'],
        deduplicated: false,
      });
      expect((await t.store.readStream('order-5')).map((e) => [e.id, e.subject])).toEqual([
        ['a-1', 'order-5'],
        ['a-2', 'order-5'],
      ]);
    });

    it('given If-Match with the current version, then it appends; with a stale one, 412 and nothing is written', async () => {
      await append('order-5', orderEvent({ id: 'v-0', subject: 'order-5' }));

      const ok = await append('order-5', orderEvent({ id: 'v-1', subject: 'order-5' }), {
        'if-match': '"0"',
      });
      const stale = await append('order-5', orderEvent({ id: 'v-x', subject: 'order-5' }), {
        'if-match': '"0"',
      });

      expect(ok.statusCode).toBe(201);
      expect(stale.statusCode).toBe(412);
      expect(stale.json()).toEqual({
        error: {
          code: 'WRONG_EXPECTED_VERSION',
          message: 'stream order-5: expected version 0, actual 1',
          details: { streamId: 'order-5', expected: 0, actual: 1 },
        },
      });
      expect((await allEvents(t.store)).map((e) => e.id)).toEqual(['v-0', 'v-1']);
    });

    it('given If-Match: * on a missing stream, then 412 (stream_exists)', async () => {
      const response = await append('order-5', orderEvent({ subject: 'order-5' }), {
        'if-match': '*',
      });

      expect(response.statusCode).toBe(412);
      expect(response.json().error.details).toEqual({
        streamId: 'order-5',
        expected: 'stream_exists',
        actual: 'no_stream',
      });
      expect(await allEvents(t.store)).toEqual([]);
    });

    it('given ?expectedVersion=no_stream twice over, then the second is 412', async () => {
      const first = await append(
        'order-5',
        orderEvent({ subject: 'order-5' }),
        {},
        '?expectedVersion=no_stream',
      );
      const second = await append(
        'order-5',
        orderEvent({ subject: 'order-5' }),
        {},
        '?expectedVersion=no_stream',
      );

      expect([first.statusCode, second.statusCode]).toEqual([201, 412]);
    });

    it('given the same append again, then 200 reports the original result and writes nothing', async () => {
      const event = orderEvent({ id: 'once', subject: 'order-5' });
      await append('order-5', event);

      const again = await append('order-5', event);

      expect(again.statusCode).toBe(200);
      expect(again.json()).toMatchObject({ deduplicated: true, positions: ['1'] });
      expect((await allEvents(t.store)).length).toBe(1);
    });

    describe('bad input stores nothing', () => {
      const cases: [string, () => ReturnType<typeof append>, number, string][] = [
        ['malformed JSON', () => append('order-5', '[{'), 400, 'MALFORMED_BODY'],
        ['a body that is a string', () => append('order-5', '"x"'), 400, 'MALFORMED_BODY'],
        [
          'If-Match that is not a version',
          () => append('order-5', orderEvent({ subject: 'order-5' }), { 'if-match': '"abc"' }),
          400,
          'INVALID_ARGUMENT',
        ],
        [
          'If-None-Match other than *',
          () => append('order-5', orderEvent({ subject: 'order-5' }), { 'if-none-match': '"3"' }),
          400,
          'INVALID_ARGUMENT',
        ],
        [
          'If-Match and ?expectedVersion together',
          () =>
            append(
              'order-5',
              orderEvent({ subject: 'order-5' }),
              { 'if-match': '"0"' },
              '?expectedVersion=0',
            ),
          400,
          'INVALID_ARGUMENT',
        ],
        [
          'an unknown expectedVersion',
          () =>
            append('order-5', orderEvent({ subject: 'order-5' }), {}, '?expectedVersion=latest'),
          400,
          'INVALID_ARGUMENT',
        ],
        [
          'an unknown query parameter',
          () => append('order-5', orderEvent({ subject: 'order-5' }), {}, '?expected=0'),
          400,
          'INVALID_ARGUMENT',
        ],
        [
          'a subject other than the stream',
          () => append('order-5', orderEvent({ subject: 'order-6' })),
          422,
          'INVALID_EVENT',
        ],
        [
          'data failing its schema',
          () =>
            append('order-5', [
              orderEvent({ subject: 'order-5' }),
              orderEvent({ subject: 'order-5', data: { amount: 'ten' } }),
            ]),
          422,
          'VALIDATION_FAILED',
        ],
        [
          'an unknown type',
          () => append('order-5', orderEvent({ subject: 'order-5', type: 'shop.order.lost.v1' })),
          422,
          'SCHEMA_NOT_FOUND',
        ],
        [
          'a batch over the limit',
          () =>
            append(
              'order-5',
              [1, 2, 3].map(() => orderEvent({ subject: 'order-5' })),
            ),
          413,
          'BATCH_TOO_LARGE',
        ],
        [
          'a text body',
          () =>
            t.server.app.inject({
              method: 'POST',
              url: '/v1/streams/order-5',
              headers: { 'content-type': 'text/plain' },
              payload: 'hi',
            }),
          415,
          'UNSUPPORTED_MEDIA_TYPE',
        ],
      ];
      for (const [name, send, status, code] of cases) {
        it(`${name}: ${status} ${code}`, async () => {
          const response = await send();

          expect(response.statusCode).toBe(status);
          expect(response.json().error.code).toBe(code);
          expect(await allEvents(t.store)).toEqual([]);
        });
      }
    });
  });

  describe('GET (read)', () => {
    beforeEach(async () => {
      for (let i = 0; i < 5; i++) {
        await t.store.appendToStream('order-5', [orderEvent({ id: `r-${i}`, subject: 'order-5' })]);
      }
    });

    it('given a limit, then pages follow with next until the end, and ETag is the version', async () => {
      const first = await read('order-5', '?limit=2');
      const second = await read('order-5', `?limit=2&from=${first.json().next}`);
      const last = await read('order-5', `?limit=2&from=${second.json().next}`);

      expect(first.headers.etag).toBe('"4"');
      expect(first.json().events.map((e: { id: string }) => e.id)).toEqual(['r-0', 'r-1']);
      expect(second.json().events.map((e: { id: string }) => e.id)).toEqual(['r-2', 'r-3']);
      expect(last.json()).toMatchObject({ streamVersion: 4, next: null });
      expect(last.json().events.map((e: { id: string }) => e.id)).toEqual(['r-4']);
    });

    it('given direction=backwards, then the newest come first, capped at maxPageSize', async () => {
      const response = await read('order-5', '?direction=backwards');

      expect(response.json().events.map((e: { streamversion: number }) => e.streamversion)).toEqual(
        [4, 3, 2],
      );
      expect(response.json().next).toBe(1);
    });

    it('given a missing stream, then 404 NOT_FOUND', async () => {
      const response = await read('order-404');

      expect(response.statusCode).toBe(404);
      expect(response.json()).toEqual({
        error: {
          code: 'NOT_FOUND',
          message: 'stream order-404 does not exist',
          details: { resource: 'stream', streamId: 'order-404' },
        },
      });
    });

    const bad: [string, string][] = [
      ['a limit above maxPageSize', '?limit=4'],
      ['a limit of 0', '?limit=0'],
      ['a limit that is not a number', '?limit=ten'],
      ['an unknown direction', '?direction=sideways'],
      ['a negative from', '?from=-1'],
      ['raw that is not a boolean', '?raw=yes'],
      ['a repeated parameter', '?limit=1&limit=2'],
      ['an unknown parameter', '?fromVersion=1'],
    ];
    for (const [name, query] of bad) {
      it(`given ${name}, then 400 INVALID_ARGUMENT`, async () => {
        const response = await read('order-5', query);

        expect(response.statusCode).toBe(400);
        expect(response.json().error.code).toBe('INVALID_ARGUMENT');
      });
    }
  });
});
