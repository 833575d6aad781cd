import type Database from 'better-sqlite3';
import type { Snapshot } from '@eventfabric/core';

interface SnapshotRow {
  stream_version: bigint;
  position: bigint;
  state: string;
}

/** Load and save the latest snapshot per (stream, name). */
export class SnapshotQueries {
  private readonly load: Database.Statement<[string, string], SnapshotRow>;
  private readonly save: Database.Statement;

  constructor(db: Database.Database) {
    this.load = db
      .prepare<[string, string], SnapshotRow>(
        'SELECT stream_version, position, state FROM snapshots WHERE stream_id = ? AND name = ?',
      )
      .safeIntegers(true);
    this.save = db.prepare(
      `INSERT INTO snapshots (stream_id, name, stream_version, position, state) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (stream_id, name) DO UPDATE SET
         stream_version = excluded.stream_version, position = excluded.position, state = excluded.state
       WHERE excluded.stream_version > snapshots.stream_version`,
    );
  }

  get(streamId: string, name: string, maxPosition?: bigint): Snapshot | undefined {
    const row = this.load.get(streamId, name);
    if (!row || (maxPosition !== undefined && row.position > maxPosition)) return undefined;
    return {
      streamId,
      name,
      streamVersion: Number(row.stream_version),
      position: row.position.toString(),
      state: JSON.parse(row.state) as unknown,
    };
  }

  put(snapshot: Snapshot): void {
    this.save.run(
      snapshot.streamId,
      snapshot.name,
      snapshot.streamVersion,
      BigInt(snapshot.position),
      JSON.stringify(snapshot.state),
    );
  }
}
