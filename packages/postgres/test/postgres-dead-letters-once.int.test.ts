import pg from 'pg';
import { afterAll, expect, it } from 'vitest';
import { createEvent, DEAD_LETTER_COLUMNS } from '@eventfabric/core';
import { createPostgresDeadLetterStore, migrate, migrations } from '../src/index.js';
import { describeWithPostgres, dropSchemas, testSchemaName, TEST_PG_URL } from './pg-available.js';

const schemas = new Set<string>();

describeWithPostgres('migration 010: one dead letter per handler and event id', () => {
  const pool = new pg.Pool({ connectionString: TEST_PG_URL, max: 2 });
  afterAll(async () => {
    await dropSchemas(schemas);
    await pool.end();
  });

  it('given copies stored before it, when it runs, then the first of each is kept and a new copy is refused', async () => {
    // Given a schema migrated up to 009 holding two copies of (a, e-1) and one of (b, e-1).
    const schema = testSchemaName('ef_dlq_once');
    schemas.add(schema);
    const s = `"${schema}"`;
    await pool.query(`CREATE SCHEMA ${s}`);
    await pool.query(`CREATE TABLE ${s}.eventfabric_migrations (
      version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    for (const m of migrations.filter((m) => m.version < 10)) {
      await pool.query(m.sql(s, schema));
      await pool.query(`INSERT INTO ${s}.eventfabric_migrations (version, name) VALUES ($1, $2)`, [
        m.version,
        m.name,
      ]);
    }
    const event = createEvent({
      id: 'e-1',
      type: 'test.item.failed.v1',
      source: '/t',
      subject: 'item-1',
      data: {},
    });
    for (const [id, handler, attempts] of [
      ['0198-0002', 'a', 6],
      ['0198-0001', 'a', 5],
      ['0198-0003', 'b', 5],
    ] as const) {
      await pool.query(
        `INSERT INTO ${s}.dead_letters (${DEAD_LETTER_COLUMNS}, event_id, event_type)
         VALUES ($1, $2, $3, $3, 'exhausted', $4, '{"code":"HANDLER_FAILED","message":"x"}', $5, '', '', '', 'e-1', 'test.item.failed.v1')`,
        [id, handler, `svc.${handler}`, JSON.stringify(event), attempts],
      );
    }

    // When the pending migration runs.
    expect(await migrate(pool, schema)).toEqual(
      migrations.filter((m) => m.version >= 10).map((m) => m.version),
    );

    // Then the first copy (lowest id) of each pair is kept, and adding again keeps it.
    const store = createPostgresDeadLetterStore({ pool, schema });
    expect((await store.list()).map((d) => [d.id, d.handler, d.attempts])).toEqual([
      ['0198-0001', 'a', 5],
      ['0198-0003', 'b', 5],
    ]);
    const again = await store.add({
      handler: 'a',
      group: 'svc.a',
      origin: 'svc.a',
      reason: 'exhausted',
      event,
      error: { code: 'HANDLER_FAILED', message: 'again' },
      attempts: 7,
      firstFailedAt: '',
      lastFailedAt: '',
    });
    expect(again.id).toBe('0198-0001');
    expect(await store.count()).toBe(2);
  });
});
