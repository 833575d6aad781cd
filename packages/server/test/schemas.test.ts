import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ORDER_PLACED, ORDER_SCHEMA, openTestServer, type TestServer } from './server-harness.js';

const V2_COMPATIBLE = {
  ...ORDER_SCHEMA,
  properties: { ...ORDER_SCHEMA.properties, note: { type: 'string' } },
};
const V2_BREAKING = {
  ...ORDER_SCHEMA,
  required: ['amount', 'currency'],
  properties: { ...ORDER_SCHEMA.properties, currency: { type: 'string' } },
};

describe('/v1/schemas', () => {
  let t: TestServer;
  beforeEach(async () => {
    t = await openTestServer();
  });
  afterEach(() => t.close());

  function send(method: 'GET' | 'POST', url: string, payload?: unknown) {
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

  it('lists the registered versions', async () => {
    const response = await send('GET', '/v1/schemas');

    expect(response.statusCode).toBe(200);
    expect(response.json().schemas.map((s: { type: string }) => s.type)).toEqual([ORDER_PLACED]);
  });

  it('gets a version by type, and the latest by base type', async () => {
    await send('POST', '/v1/schemas/shop.order.placed.v2', V2_COMPATIBLE);

    const v1 = await send('GET', `/v1/schemas/${ORDER_PLACED}`);
    const latest = await send('GET', '/v1/schemas/shop.order.placed');

    expect(v1.json()).toMatchObject({ type: ORDER_PLACED, version: 1, schema: ORDER_SCHEMA });
    expect(latest.json()).toMatchObject({ type: 'shop.order.placed.v2', version: 2 });
  });

  it('registers a compatible version (201), and again is a no-op (200); the store keeps it', async () => {
    const first = await send('POST', '/v1/schemas/shop.order.placed.v2', V2_COMPATIBLE);
    const again = await send('POST', '/v1/schemas/shop.order.placed.v2', V2_COMPATIBLE);

    expect(first.statusCode).toBe(201);
    expect(first.json()).toEqual({
      base: 'shop.order.placed',
      version: 2,
      type: 'shop.order.placed.v2',
      id: 'urn:eventfabric:schema:shop.order.placed:v2',
      created: true,
    });
    expect(again.statusCode).toBe(200);
    expect(again.json().created).toBe(false);
    expect((await t.store.loadSchemas()).map((r) => r.version)).toEqual([1, 2]);
  });

  it('checks compatibility without registering', async () => {
    const ok = await send('POST', '/v1/schemas/shop.order.placed.v2/check', V2_COMPATIBLE);
    const breaking = await send('POST', '/v1/schemas/shop.order.placed.v2/check', V2_BREAKING);

    expect(ok.json()).toEqual({ compatible: true, changes: [], mode: 'BACKWARD', new: true });
    expect(breaking.statusCode).toBe(200);
    expect(breaking.json()).toMatchObject({ compatible: false, mode: 'BACKWARD' });
    expect(breaking.json().changes.length).toBeGreaterThan(0);
    expect((await t.store.loadSchemas()).length).toBe(1);
  });

  describe('bad input registers nothing', () => {
    const cases: [string, 'GET' | 'POST', string, unknown, number, string][] = [
      [
        'an incompatible version',
        'POST',
        '/v1/schemas/shop.order.placed.v2',
        V2_BREAKING,
        409,
        'INCOMPATIBLE_SCHEMA',
      ],
      [
        'a schema that is not JSON Schema',
        'POST',
        '/v1/schemas/shop.order.placed.v2',
        { type: 'banana' },
        422,
        'INVALID_SCHEMA',
      ],
      [
        'malformed JSON',
        'POST',
        '/v1/schemas/shop.order.placed.v2',
        '{"type":',
        400,
        'MALFORMED_BODY',
      ],
      [
        'a body that is an array',
        'POST',
        '/v1/schemas/shop.order.placed.v2',
        [],
        400,
        'MALFORMED_BODY',
      ],
      [
        'a skipped version',
        'POST',
        '/v1/schemas/shop.order.placed.v3',
        V2_COMPATIBLE,
        400,
        'INVALID_ARGUMENT',
      ],
      [
        'a type without a version',
        'POST',
        '/v1/schemas/shop.order.placed',
        V2_COMPATIBLE,
        400,
        'INVALID_ARGUMENT',
      ],
      [
        'an unknown compatibility mode',
        'POST',
        '/v1/schemas/shop.order.placed.v2?compatibility=SOMETIMES',
        V2_COMPATIBLE,
        400,
        'INVALID_ARGUMENT',
      ],
      ['an unknown type', 'GET', '/v1/schemas/shop.order.lost.v1', undefined, 404, 'NOT_FOUND'],
      ['an unknown base', 'GET', '/v1/schemas/shop.basket', undefined, 404, 'NOT_FOUND'],
      [
        'an unknown query parameter',
        'GET',
        '/v1/schemas?all=1',
        undefined,
        400,
        'INVALID_ARGUMENT',
      ],
    ];
    for (const [name, method, url, payload, status, code] of cases) {
      it(`${name}: ${status} ${code}`, async () => {
        const response = await send(method, url, payload);

        expect(response.statusCode).toBe(status);
        expect(response.json().error.code).toBe(code);
        expect((await t.store.loadSchemas()).length).toBe(1);
        expect(t.registry.list().length).toBe(1);
      });
    }
  });
});
