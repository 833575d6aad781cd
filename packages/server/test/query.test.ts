import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openTestServer, orderEvent, type TestServer } from './server-harness.js';

describe('GET /v1/events', () => {
  let t: TestServer;
  beforeEach(async () => {
    t = await openTestServer({ schemas: 'none', limits: { maxPageSize: 50 } });
    await t.store.appendMany([
      orderEvent({
        id: 'e1',
        type: 'shop.order.placed.v1',
        subject: 'order-1',
        time: '2026-01-01T00:00:00Z',
      }),
      orderEvent({
        id: 'e2',
        type: 'shop.order.shipped.v1',
        subject: 'order-1',
        time: '2026-01-02T00:00:00Z',
        correlationid: 'flow-a',
      }),
      orderEvent({
        id: 'e3',
        type: 'shop.order.placed.v1',
        subject: 'order-2',
        time: '2026-01-03T00:00:00Z',
        correlationid: 'flow-a',
      }),
      orderEvent({
        id: 'e4',
        type: 'bank.payment.settled.v1',
        subject: 'payment-1',
        time: '2026-01-04T00:00:00Z',
      }),
      orderEvent({
        id: 'e5',
        type: 'shop.order.placed.v10',
        subject: 'order-10',
        time: '2026-01-05T00:00:00Z',
      }),
    ]);
  });
  afterEach(() => t.close());

  async function query(q: string) {
    const response = await t.server.app.inject({ method: 'GET', url: `/v1/events${q}` });
    return { status: response.statusCode, body: response.json() };
  }
  const ids = (body: { events: { id: string }[] }) => body.events.map((e) => e.id);

  it('given no filter, then $all in position order, with the cursor at the end and more false', async () => {
    const { status, body } = await query('');

    expect(status).toBe(200);
    expect(ids(body)).toEqual(['e1', 'e2', 'e3', 'e4', 'e5']);
    expect(body).toMatchObject({ next: '5', more: false });
  });

  it('given an exact type, then only that type (not a longer one sharing its prefix)', async () => {
    expect(ids((await query('?type=shop.order.placed.v1')).body)).toEqual(['e1', 'e3']);
  });

  it('given type patterns, then each pattern is OR-ed', async () => {
    expect(ids((await query('?type=shop.*&type=bank.*')).body)).toEqual([
      'e1',
      'e2',
      'e3',
      'e4',
      'e5',
    ]);
    expect(ids((await query('?type=*.*.settled.v1,shop.order.shipped.v1')).body)).toEqual([
      'e2',
      'e4',
    ]);
  });

  it('given a stream, then only its events', async () => {
    expect(ids((await query('?stream=order-1')).body)).toEqual(['e1', 'e2']);
  });

  it('given a category, then its streams', async () => {
    expect(ids((await query('?category=payment')).body)).toEqual(['e4']);
  });

  it('given a correlation id, then the flow, AND-ed with other filters', async () => {
    expect(ids((await query('?correlationid=flow-a')).body)).toEqual(['e2', 'e3']);
    expect(ids((await query('?correlationid=flow-a&stream=order-2')).body)).toEqual(['e3']);
  });

  it('given a time range, then since is inclusive and until exclusive', async () => {
    const { body } = await query('?since=2026-01-02T00:00:00Z&until=2026-01-04T00:00:00Z');

    expect(ids(body)).toEqual(['e2', 'e3']);
  });

  it('given a limit, then cursor pages cover every match once, in order', async () => {
    const first = await query('?type=shop.*&limit=2');
    const second = await query(`?type=shop.*&limit=2&after=${first.body.next}`);
    const third = await query(`?type=shop.*&limit=2&after=${second.body.next}`);

    expect([ids(first.body), ids(second.body), ids(third.body)]).toEqual([
      ['e1', 'e2'],
      ['e3', 'e5'],
      [],
    ]);
    expect([first.body.more, second.body.more, third.body.more]).toEqual([true, true, false]);
    expect(third.body.next).toBe('5');
  });

  const bad: [string, string][] = [
    ['a malformed type pattern', '?type=shop..order'],
    ['an empty type', '?type='],
    ['a malformed after cursor', '?after=-3'],
    ['an after that is not a number', '?after=abc'],
    ['a limit above maxPageSize', '?limit=51'],
    ['a since that is not RFC 3339', '?since=yesterday'],
    ['an until that is not a date', '?until=2026-13-45T00:00:00Z'],
    ['two correlation ids', '?correlationid=a&correlationid=b'],
    ['an unknown parameter', '?types=shop.*'],
  ];
  for (const [name, q] of bad) {
    it(`given ${name}, then 400 INVALID_ARGUMENT`, async () => {
      const { status, body } = await query(q);

      expect(status).toBe(400);
      expect(body.error.code).toBe('INVALID_ARGUMENT');
    });
  }
});
