import type { Pool } from 'pg';
import type { Snapshot } from '@eventfabric/core';

interface SnapshotRow {
  stream_version: string;
  position: string;
  state: string;
}

/** The latest snapshot of (stream, name), unless it lies after `maxPosition`. */
export async function loadSnapshot(
  pool: Pool,
  s: string,
  streamId: string,
  name: string,
  maxPosition?: bigint,
): Promise<Snapshot | undefined> {
  const result = await pool.query<SnapshotRow>(
    `SELECT stream_version, position, state FROM ${s}.snapshots WHERE stream_id = $1 AND name = $2`,
    [streamId, name],
  );
  const row = result.rows[0];
  if (!row || (maxPosition !== undefined && BigInt(row.position) > maxPosition)) return undefined;
  return {
    streamId,
    name,
    streamVersion: Number(row.stream_version),
    position: row.position,
    state: JSON.parse(row.state) as unknown,
  };
}

/** Keep the newer of the stored and the given snapshot. */
export async function saveSnapshot(pool: Pool, s: string, snapshot: Snapshot): Promise<void> {
  await pool.query(
    `INSERT INTO ${s}.snapshots (stream_id, name, stream_version, position, state)
     VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (stream_id, name) DO UPDATE SET
       stream_version = excluded.stream_version, position = excluded.position, state = excluded.state
     WHERE excluded.stream_version > snapshots.stream_version`,
    [
      snapshot.streamId,
      snapshot.name,
      snapshot.streamVersion,
      snapshot.position,
      JSON.stringify(snapshot.state),
    ],
  );
}
