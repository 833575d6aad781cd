import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { createEvent, DEAD_LETTER_COLUMNS } from '@eventfabric/core';
import { createSqliteDeadLetterStore, migrate, migrations } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'ef-sqlite-dlq-once-'));

describe('migration 009: one dead letter per handler and event id', () => {
  it('given copies stored before it, when it runs, then the first of each is kept and a new copy is refused', async () => {
    // Given a file migrated up to 008 holding two copies of (a, e-1) and one of (b, e-1).
    const path = join(dir, 'before-009.db');
    const db = new Database(path);
    db.exec(`CREATE TABLE eventfabric_migrations (
      version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`);
    for (const m of migrations.filter((m) => m.version < 9)) {
      db.exec(m.sql);
      db.prepare('INSERT INTO eventfabric_migrations VALUES (?, ?, ?)').run(m.version, m.name, '');
    }
    const event = JSON.stringify(
      createEvent({
        id: 'e-1',
        type: 'test.item.failed.v1',
        source: '/t',
        subject: 'item-1',
        data: {},
      }),
    );
    const insert = db.prepare(
      `INSERT INTO dead_letters (${DEAD_LETTER_COLUMNS}, event_id, event_type)
       VALUES (?, ?, ?, ?, 'exhausted', ?, '{"code":"HANDLER_FAILED","message":"x"}', ?, '', '', '', 'e-1', 'test.item.failed.v1')`,
    );
    insert.run('0198-0002', 'a', 'svc.a', 'svc.a', event, 6);
    insert.run('0198-0001', 'a', 'svc.a', 'svc.a', event, 5);
    insert.run('0198-0003', 'b', 'svc.b', 'svc.b', event, 5);

    // When the pending migration runs.
    expect(migrate(db)).toEqual(migrations.filter((m) => m.version >= 9).map((m) => m.version));
    db.close();

    // Then the first copy (lowest id) of each pair is kept, and adding again keeps it.
    const store = createSqliteDeadLetterStore(path);
    expect((await store.list()).map((d) => [d.id, d.handler, d.attempts])).toEqual([
      ['0198-0001', 'a', 5],
      ['0198-0003', 'b', 5],
    ]);
    const again = await store.add({
      handler: 'a',
      group: 'svc.a',
      origin: 'svc.a',
      reason: 'exhausted',
      event: JSON.parse(event),
      error: { code: 'HANDLER_FAILED', message: 'again' },
      attempts: 7,
      firstFailedAt: '',
      lastFailedAt: '',
    });
    expect(again.id).toBe('0198-0001');
    expect(await store.count()).toBe(2);
    store.close();
  });
});
