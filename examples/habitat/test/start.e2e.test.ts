import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startDemo } from '@eventfabric/habitat';
import { temporaryDirectory } from './harness.js';

const BALANCES = `{ capitalAccounts { memberId balanceCents } distributions { id amountCents status } }`;

describe('habitat start (npm start): the server with Habitat mounted and the demo seeded', () => {
  const tmp = temporaryDirectory();
  afterAll(() => tmp.remove());
  const location = { store: `sqlite:${join(tmp.dir, 'eventfabric.db')}`, transport: 'embedded' };

  it('seeds once, keeps every server route working, and seeds nothing again on restart', async () => {
    const first = await startDemo({ location, port: 0, host: '127.0.0.1' });
    let balances: unknown;
    try {
      expect(first.seeded).toBe(23);
      const gql = await fetch(`${first.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: BALANCES }),
      });
      balances = ((await gql.json()) as { data: unknown }).data;
      expect(balances).toMatchObject({
        capitalAccounts: [
          { memberId: 'm-ada', balanceCents: 133_631 },
          { memberId: 'm-bo', balanceCents: 108_759 },
          { memberId: 'm-cy', balanceCents: 53_452 },
          { memberId: 'm-dee', balanceCents: 24_156 },
        ],
      });
      // README's example: a foreign type published to the same store, and read back.
      const publish = await fetch(`${first.url}/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/cloudevents+json' },
        body: JSON.stringify({
          specversion: '1.0',
          id: '1',
          type: 'shop.order.placed.v1',
          source: '/shop',
          subject: 'order-1',
          data: { total: 12 },
        }),
      });
      expect(publish.status).toBe(201);
      const read = await fetch(`${first.url}/v1/streams/order-1`);
      expect(((await read.json()) as { events: { id: string }[] }).events.map((e) => e.id)).toEqual(
        ['1'],
      );
      expect((await fetch(`${first.url}/readyz`)).status).toBe(200);
      expect((await fetch(`${first.url}/v1/schemas/people.member.registered`)).status).toBe(200);
      const bad = await fetch(`${first.url}/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/cloudevents+json' },
        body: JSON.stringify({
          specversion: '1.0',
          id: '2',
          type: 'people.member.registered.v2',
          source: '/x',
          subject: 'member-m-x',
          data: { memberId: 'm-x' },
        }),
      });
      expect(bad.status).toBe(422);
    } finally {
      await first.close();
    }
    const second = await startDemo({ location, port: 0, host: '127.0.0.1' });
    try {
      expect(second.seeded).toBe(0);
      const again = await second.server.app.inject({
        method: 'POST',
        url: '/graphql',
        payload: { query: BALANCES },
      });
      expect((again.json() as { data: unknown }).data).toEqual(balances);
    } finally {
      await second.close();
    }
  }, 60_000);
});
