import type Database from 'better-sqlite3';
import { migration001 } from './001-initial.js';
import { migration002 } from './002-consumer-groups.js';
import { migration003 } from './003-consumer-records.js';
import { migration004 } from './004-relay-checkpoints.js';
import { migration005 } from './005-projections.js';
import { migration006 } from './006-scheduled-messages.js';
import { migration007 } from './007-sagas.js';
import { migration008 } from './008-webhooks.js';
import { migration009 } from './009-dead-letters-once.js';
import { migration010 } from './010-inline-projections.js';

/** A numbered, immutable schema change. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Every migration, in order. Append only. */
export const migrations: readonly Migration[] = [
  migration001,
  migration002,
  migration003,
  migration004,
  migration005,
  migration006,
  migration007,
  migration008,
  migration009,
  migration010,
];

/**
 * Apply pending migrations. Runs under `BEGIN IMMEDIATE`, so several processes opening one
 * file at once apply each migration exactly once.
 * @returns the versions applied by this call
 */
export function migrate(db: Database.Database): number[] {
  const applied: number[] = [];
  db.transaction(() => {
    db.exec(`CREATE TABLE IF NOT EXISTS eventfabric_migrations (
      version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`);
    const done = new Set(
      db.prepare('SELECT version FROM eventfabric_migrations').pluck().all() as number[],
    );
    const record = db.prepare(
      'INSERT INTO eventfabric_migrations (version, name, applied_at) VALUES (?, ?, ?)',
    );
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      db.exec(m.sql);
      record.run(m.version, m.name, new Date().toISOString());
      applied.push(m.version);
    }
  }).immediate();
  return applied;
}
