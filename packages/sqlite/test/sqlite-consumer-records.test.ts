import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { createConsumer, createEvent, createInMemoryTransport } from '@eventfabric/core';
import {
  describeDeadLetterStoreConformance,
  describeProcessedEventsConformance,
} from '@eventfabric/conformance';
import {
  createSqliteDeadLetterStore,
  createSqliteEventStore,
  SqliteIdempotencyKeyStore,
  SqliteProcessedEvents,
} from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'ef-sqlite-records-'));
let n = 0;
const path = () => join(dir, `records-${n++}.db`);

describeDeadLetterStoreConformance('sqlite', { create: () => createSqliteDeadLetterStore(path()) });
describeProcessedEventsConformance('sqlite', {
  create: () => new SqliteProcessedEvents(path()),
  createKeys: () => new SqliteIdempotencyKeyStore(path()),
});

describe('SqliteProcessedEvents in the handler’s transaction', () => {
  function setup() {
    const processed = new SqliteProcessedEvents(path());
    processed.db.exec('CREATE TABLE balances (member TEXT PRIMARY KEY, cents INTEGER NOT NULL)');
    const credit = (member: string, cents: number) => async (tx: unknown) => {
      (tx as Database.Database)
        .prepare(
          'INSERT INTO balances VALUES (?, ?) ON CONFLICT (member) DO UPDATE SET cents = cents + excluded.cents',
        )
        .run(member, cents);
    };
    const balance = (member: string) =>
      processed.db.prepare('SELECT cents FROM balances WHERE member = ?').pluck().get(member) as
        number | undefined;
    return { processed, credit, balance };
  }

  it('commits the effect and the record together, and skips the effect on redelivery', async () => {
    const { processed, credit, balance } = setup();
    expect(
      await processed.once('ledger', 'evt-1', credit('m-1', 500), { transactional: true }),
    ).toBe(true);
    expect(
      await processed.once('ledger', 'evt-1', credit('m-1', 500), { transactional: true }),
    ).toBe(false);
    expect(balance('m-1')).toBe(500);
  });

  it('rolls back the effect when the handler fails after writing', async () => {
    const { processed, credit, balance } = setup();
    const failing = async (tx: unknown) => {
      await credit('m-2', 700)(tx);
      throw new Error('downstream refused');
    };
    await expect(
      processed.once('ledger', 'evt-2', failing, { transactional: true }),
    ).rejects.toThrow('downstream refused');
    expect(balance('m-2')).toBeUndefined();
    expect(await processed.has('ledger', 'evt-2')).toBe(false);
  });

  it('serialises concurrent transactional handlings on one connection', async () => {
    const { processed, credit, balance } = setup();
    const slowCredit = (cents: number) => async (tx: unknown) => {
      await new Promise((r) => setTimeout(r, 5));
      await credit('m-3', cents)(tx);
    };
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        processed.once('ledger', `evt-${i % 10}`, slowCredit(i % 10), { transactional: true }),
      ),
    );
    expect(results.filter(Boolean)).toHaveLength(10);
    expect(balance('m-3')).toBe(45);
  });

  it('shares the event store’s file when given the store', async () => {
    const store = createSqliteEventStore({ path: path() });
    const processed = new SqliteProcessedEvents(store);
    expect(await processed.once('h', 'e', async () => undefined)).toBe(true);
    expect(store.db.prepare('SELECT count(*) FROM processed_events').pluck().get()).toBe(1);
    await store.close();
  });
});

describe('a transactional handler on the store’s connection', () => {
  it('commits its writes, its follow-up events and its record together; a failed attempt leaves none of them', async () => {
    const store = createSqliteEventStore({ path: path() });
    const processed = new SqliteProcessedEvents(store);
    store.db.exec('CREATE TABLE balances (member TEXT PRIMARY KEY, cents INTEGER NOT NULL)');
    const transport = createInMemoryTransport();
    let attempts = 0;
    const consumer = createConsumer({
      service: 'treasury',
      transport,
      store,
      processed,
      retry: { initialDelayMs: 5, jitter: 0 },
      concurrency: 4,
      handlers: [
        {
          name: 'ledger',
          on: ['test.*'],
          transactional: true,
          handle: async (event, ctx) => {
            const { member, cents } = event.data as { member: string; cents: number };
            (ctx.tx as Database.Database)
              .prepare(
                'INSERT INTO balances VALUES (?, ?) ON CONFLICT (member) DO UPDATE SET cents = cents + excluded.cents',
              )
              .run(member, cents);
            await ctx.append(`ledger-${member}`, [
              { type: 'test.ledger.credited.v1', subject: `ledger-${member}`, data: { cents } },
            ]);
            if (member === 'm-1' && ++attempts === 1) throw new Error('the bank hung up');
          },
        },
      ],
    });
    await consumer.start();
    const events = ['m-1', 'm-2', 'm-3'].map((member) =>
      createEvent({
        type: 'test.contribution.approved.v1',
        source: '/t',
        subject: `c-${member}`,
        data: { member, cents: 250 },
      }),
    );
    await transport.publish(events);
    const deadline = Date.now() + 5000;
    while (
      (await processed.has('ledger', events[0]!.id)) === false ||
      (await store.streamVersion('ledger-m-3')) < 0
    ) {
      if (Date.now() > deadline) throw new Error('handlings did not finish');
      await new Promise((r) => setTimeout(r, 10));
    }
    await consumer.stop();
    const balances = store.db.prepare('SELECT member, cents FROM balances ORDER BY member').all();
    expect(balances).toEqual([
      { member: 'm-1', cents: 250 },
      { member: 'm-2', cents: 250 },
      { member: 'm-3', cents: 250 },
    ]);
    expect(attempts).toBe(2);
    for (const member of ['m-1', 'm-2', 'm-3']) {
      const ledger = await store.readStream(`ledger-${member}`);
      expect(ledger.map((e) => [e.type, e.data, e.causationid])).toEqual([
        [
          'test.ledger.credited.v1',
          { cents: 250 },
          events.find((e) => (e.data as { member: string }).member === member)!.id,
        ],
      ]);
    }
    await store.close();
  });
});
