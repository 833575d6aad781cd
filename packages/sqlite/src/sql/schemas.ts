import type Database from 'better-sqlite3';
import type { StoredSchemaRecord } from '@eventfabric/core';

interface SchemaRow {
  base: string;
  version: number;
  schema: string;
  compatibility: string;
  registered_at: string;
}

/** Persist schema versions; `seq` keeps registration order across processes. */
export class SchemaQueries {
  private readonly list: Database.Statement<[], SchemaRow>;
  private readonly insert: Database.Statement;

  constructor(db: Database.Database) {
    this.list = db.prepare<[], SchemaRow>(
      'SELECT base, version, schema, compatibility, registered_at FROM schemas ORDER BY seq',
    );
    this.insert = db.prepare(
      `INSERT INTO schemas (base, version, schema, compatibility, registered_at, seq)
       VALUES (?, ?, ?, ?, ?, (SELECT coalesce(max(seq), 0) + 1 FROM schemas))
       ON CONFLICT (base, version) DO NOTHING`,
    );
  }

  all(): StoredSchemaRecord[] {
    return this.list.all().map((r) => ({
      base: r.base,
      version: r.version,
      schema: JSON.parse(r.schema) as Record<string, unknown>,
      compatibility: r.compatibility,
      registeredAt: r.registered_at,
    }));
  }

  save(record: StoredSchemaRecord): void {
    this.insert.run(
      record.base,
      record.version,
      JSON.stringify(record.schema),
      record.compatibility,
      record.registeredAt,
    );
  }
}
