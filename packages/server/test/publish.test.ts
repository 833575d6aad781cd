import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { allEvents, openTestServer, orderEvent, type TestServer } from './server-harness.js';

const STRUCTURED = { 'content-type': 'application/cloudevents+json' };
const BATCH = { 'content-type': 'application/cloudevents-batch+json' };

describe('POST /v1/events', () => {
  let t: TestServer;
  beforeEach(async () => {
    t = await openTestServer({ limits: { maxBatchSize: 3, bodyLimitBytes: 4096 } });
  });
  afterEach(() => t.close());

  async function publish(headers: Record<string, string>, payload: unknown) {
    return t.server.app.inject({
      method: 'POST',
      url: '/v1/events',
      headers,
      payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
    });
  }

  describe('accepts', () => {
    it('given one structured event, then it is stored in its subject stream and 201 gives its position', async () => {
      const event = orderEvent({ id: 's-1', subject: 'order-7' });

      const response = await publish(STRUCTURED, event);

      expect(response.statusCode).toBe(201);
      expect(response.json()).toEqual({ positions: ['1'], duplicates: 0 });
      const [stored] = await t.store.readStream('order-7');
      expect(stored).toMatchObject({ ...event, streamversion: 0, position: '1' });
    });

    it('given a batch across streams, then every event is stored in order, each in its own stream', async () => {
      const batch = [
        orderEvent({ id: 'b-1', subject: 'order-1' }),
        orderEvent({ id: 'b-2', subject: 'order-2' }),
        orderEvent({ id: 'b-3', subject: 'order-1' }),
      ];

      const response = await publish(BATCH, batch);

      expect(response.statusCode).toBe(201);
      expect(response.json()).toEqual({ positions: ['1', '2', '3'], duplicates: 0 });
      expect(await allEvents(t.store)).toEqual([
        { id: 'b-1', subject: 'order-1', position: '1' },
        { id: 'b-2', subject: 'order-2', position: '2' },
        { id: 'b-3', subject: 'order-1', position: '3' },
      ]);
      expect((await t.store.readStream('order-1')).map((e) => e.streamversion)).toEqual([0, 1]);
    });

    it('given binary mode, then the ce-* headers are the attributes and the body is the data', async () => {
      const response = await publish(
        {
          'content-type': 'application/json; charset=utf-8',
          'ce-specversion': '1.0',
          'ce-id': 'bin-1',
          'ce-type': 'shop.order.placed.v1',
          'ce-source': '%2Fshop%2Ffront',
          'ce-subject': 'order-9',
          'ce-correlationid': 'flow-1',
        },
        { amount: 3 },
      );

      expect(response.statusCode).toBe(201);
      const [stored] = await t.store.readStream('order-9');
      expect(stored).toMatchObject({
        specversion: '1.0',
        id: 'bin-1',
        type: 'shop.order.placed.v1',
        source: '/shop/front',
        subject: 'order-9',
        correlationid: 'flow-1',
        datacontenttype: 'application/json',
        data: { amount: 3 },
      });
    });

    it('given plain application/json, then an object is one event and an array a batch', async () => {
      const one = await publish({ 'content-type': 'application/json' }, orderEvent({ id: 'j-1' }));
      const many = await publish({ 'content-type': 'application/json' }, [
        orderEvent({ id: 'j-2' }),
        orderEvent({ id: 'j-3' }),
      ]);

      expect([one.statusCode, many.statusCode]).toEqual([201, 201]);
      expect((await allEvents(t.store)).map((e) => e.id)).toEqual(['j-1', 'j-2', 'j-3']);
    });

    it('given the same batch again (a client retry), then nothing is written twice and 200 gives the first positions', async () => {
      const batch = [orderEvent({ id: 'r-1' }), orderEvent({ id: 'r-2' })];
      await publish(BATCH, batch);

      const again = await publish(BATCH, batch);

      expect(again.statusCode).toBe(200);
      expect(again.json()).toEqual({ positions: ['1', '2'], duplicates: 2 });
      expect((await allEvents(t.store)).length).toBe(2);
    });

    it('given a traceparent header, then an event without one joins that trace with a new span', async () => {
      const incoming = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
      await publish({ ...STRUCTURED, traceparent: incoming }, orderEvent({ id: 't-1' }));
      await publish(
        { ...STRUCTURED, traceparent: incoming },
        orderEvent({
          id: 't-2',
          traceparent: '00-11111111111111111111111111111111-2222222222222222-01',
        }),
      );

      const [first, second] = await t.store.readStream('order-1');
      expect(first!.traceparent).toMatch(/^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-01$/);
      expect(first!.traceparent).not.toBe(incoming);
      expect(second!.traceparent).toBe('00-11111111111111111111111111111111-2222222222222222-01');
    });
  });

  describe('rejects, and stores nothing', () => {
    async function expectRejected(
      response: Awaited<ReturnType<typeof publish>>,
      status: number,
      code: string,
    ): Promise<Record<string, unknown>> {
      expect(response.statusCode).toBe(status);
      const body = response.json() as { error: Record<string, unknown> };
      expect(Object.keys(body)).toEqual(['error']);
      expect(body.error.code).toBe(code);
      expect(typeof body.error.message).toBe('string');
      expect(typeof body.error.details).toBe('object');
      expect(await allEvents(t.store)).toEqual([]);
      return body.error.details as Record<string, unknown>;
    }

    it('malformed JSON: 400 MALFORMED_BODY', async () => {
      await expectRejected(await publish(STRUCTURED, '{"specversion":'), 400, 'MALFORMED_BODY');
    });

    it('an empty body: 400 MALFORMED_BODY', async () => {
      const details = await expectRejected(await publish(STRUCTURED, ''), 400, 'MALFORMED_BODY');
      expect(details.reason).toBe('the body is empty');
    });

    it('a batch body that is not an array: 400 MALFORMED_BODY', async () => {
      await expectRejected(await publish(BATCH, orderEvent()), 400, 'MALFORMED_BODY');
    });

    it('a structured body that is an array: 400 MALFORMED_BODY', async () => {
      await expectRejected(await publish(STRUCTURED, [orderEvent()]), 400, 'MALFORMED_BODY');
    });

    it('a batch item that is not an object: 400 MALFORMED_BODY, and the valid items before it are not stored', async () => {
      await expectRejected(await publish(BATCH, [orderEvent(), 42]), 400, 'MALFORMED_BODY');
    });

    it('an unsupported content type: 415 UNSUPPORTED_MEDIA_TYPE', async () => {
      const details = await expectRejected(
        await publish({ 'content-type': 'text/plain' }, 'hello'),
        415,
        'UNSUPPORTED_MEDIA_TYPE',
      );
      expect(details.accepted).toEqual([
        'application/cloudevents+json',
        'application/cloudevents-batch+json',
        'application/json',
      ]);
    });

    it('a body over the limit: 413 PAYLOAD_TOO_LARGE', async () => {
      const big = orderEvent({ data: { amount: 1, pad: 'x'.repeat(5000) } });
      const details = await expectRejected(
        await publish(STRUCTURED, big),
        413,
        'PAYLOAD_TOO_LARGE',
      );
      expect(details).toEqual({ limit: 4096 });
    });

    it('a batch over the batch limit: 413 BATCH_TOO_LARGE', async () => {
      const batch = [1, 2, 3, 4].map((n) => orderEvent({ id: `big-${n}` }));
      const details = await expectRejected(await publish(BATCH, batch), 413, 'BATCH_TOO_LARGE');
      expect(details).toEqual({ count: 4, limit: 3 });
    });

    it('an envelope missing its source, in the middle of a batch: 422 INVALID_EVENT', async () => {
      const batch = [
        orderEvent(),
        orderEvent({ id: 'no-source', source: undefined }),
        orderEvent(),
      ];
      const details = await expectRejected(await publish(BATCH, batch), 422, 'INVALID_EVENT');
      expect(details.eventId).toBe('no-source');
    });

    it('wrong attribute types: 422 INVALID_EVENT', async () => {
      await expectRejected(
        await publish(STRUCTURED, orderEvent({ id: 7, subject: ['x'] })),
        422,
        'INVALID_EVENT',
      );
    });

    it('data that fails its schema, last in a batch: 422 VALIDATION_FAILED with the failing path', async () => {
      const batch = [orderEvent(), orderEvent({ data: { amount: -1 } })];
      const details = await expectRejected(await publish(BATCH, batch), 422, 'VALIDATION_FAILED');
      expect(details.issues).toEqual([expect.objectContaining({ path: '/data/amount' })]);
    });

    it('an unknown type: 422 SCHEMA_NOT_FOUND', async () => {
      const batch = [orderEvent(), orderEvent({ type: 'shop.order.vanished.v1' })];
      const details = await expectRejected(await publish(BATCH, batch), 422, 'SCHEMA_NOT_FOUND');
      expect(details.type).toBe('shop.order.vanished.v1');
    });

    it('an id repeated in one batch: 409 DUPLICATE_EVENT_ID', async () => {
      const batch = [orderEvent({ id: 'twice' }), orderEvent({ id: 'twice', subject: 'order-2' })];
      await expectRejected(await publish(BATCH, batch), 409, 'DUPLICATE_EVENT_ID');
    });

    it('binary mode with a header that does not percent-decode: 400 MALFORMED_BODY', async () => {
      await expectRejected(
        await publish(
          {
            'content-type': 'application/json',
            'ce-specversion': '1.0',
            'ce-id': 'bad%zz',
            'ce-type': 'shop.order.placed.v1',
            'ce-source': '/shop',
            'ce-subject': 'order-1',
          },
          { amount: 1 },
        ),
        400,
        'MALFORMED_BODY',
      );
    });

    it('binary mode with a non-JSON payload type: 415 UNSUPPORTED_MEDIA_TYPE', async () => {
      await expectRejected(
        await publish(
          {
            'content-type': 'text/plain',
            'ce-specversion': '1.0',
            'ce-id': 'txt',
            'ce-type': 'shop.order.placed.v1',
            'ce-source': '/shop',
            'ce-subject': 'order-1',
          },
          'hello',
        ),
        415,
        'UNSUPPORTED_MEDIA_TYPE',
      );
    });
  });
});
