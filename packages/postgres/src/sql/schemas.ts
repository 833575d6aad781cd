import type { Pool } from 'pg';
import type { StoredSchemaRecord } from '@eventfabric/core';

interface SchemaRow {
  base: string;
  version: number;
  schema: string;
  compatibility: string;
  registered_at: string;
}

/** Every schema record, in registration order. */
export async function loadSchemas(pool: Pool, s: string): Promise<StoredSchemaRecord[]> {
  const result = await pool.query<SchemaRow>(
    `SELECT base, version, schema, compatibility, registered_at FROM ${s}.schemas ORDER BY seq`,
  );
  return result.rows.map((r) => ({
    base: r.base,
    version: r.version,
    schema: JSON.parse(r.schema) as Record<string, unknown>,
    compatibility: r.compatibility,
    registeredAt: r.registered_at,
  }));
}

/** Store a record; the same (base, version) again is a no-op. */
export async function saveSchema(pool: Pool, s: string, record: StoredSchemaRecord): Promise<void> {
  await pool.query(
    `INSERT INTO ${s}.schemas (base, version, schema, compatibility, registered_at)
     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (base, version) DO NOTHING`,
    [
      record.base,
      record.version,
      JSON.stringify(record.schema),
      record.compatibility,
      record.registeredAt,
    ],
  );
}
