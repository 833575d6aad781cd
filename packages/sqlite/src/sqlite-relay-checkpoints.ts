import type Database from 'better-sqlite3';
import type { RelayCheckpointStore, RelayLease } from '@eventfabric/core';
import {
  connectionLock,
  openTarget,
  releaseConnection,
  type ConnectionLock,
  type SqliteTarget,
} from './sqlite-database.js';

/**
 * Relay checkpoints and leases in SQLite (`relay_checkpoints`, migration 004), in the store's
 * file. A lease is a row's owner and expiry (milliseconds since the epoch: processes sharing
 * a file share a machine, and so a clock). Every advance checks the owner, so a relay that
 * lost its lease cannot move the checkpoint its successor now owns.
 */
export class SqliteRelayCheckpoints implements RelayCheckpointStore {
  private readonly db: Database.Database;
  private readonly owned: boolean;
  private readonly lock: ConnectionLock;
  private readonly take: Database.Statement;
  private readonly move: Database.Statement;
  private readonly clear: Database.Statement;

  constructor(target: SqliteTarget) {
    ({ db: this.db, owned: this.owned } = openTarget(target));
    this.lock = connectionLock(this.db);
    this.take = this.db.prepare(
      `INSERT INTO relay_checkpoints (name, position, owner, expires_at, updated_at)
       VALUES (@name, NULL, @owner, @expiresAt, @now)
       ON CONFLICT (name) DO UPDATE
         SET owner = excluded.owner, expires_at = excluded.expires_at, updated_at = excluded.updated_at
         WHERE relay_checkpoints.owner = excluded.owner OR relay_checkpoints.owner IS NULL
           OR relay_checkpoints.expires_at < @now
       RETURNING position`,
    );
    this.move = this.db.prepare(
      `UPDATE relay_checkpoints
       SET position = coalesce(@position, position), expires_at = @expiresAt, updated_at = @now
       WHERE name = @name AND owner = @owner`,
    );
    this.clear = this.db.prepare(
      `UPDATE relay_checkpoints SET owner = NULL, updated_at = @now WHERE name = @name AND owner = @owner`,
    );
  }

  async acquire(name: string, owner: string, leaseMs: number): Promise<RelayLease> {
    const now = Date.now();
    const row = (await this.lock.run(() =>
      this.take.get({ name, owner, expiresAt: now + leaseMs, now }),
    )) as { position: string | null } | undefined;
    return row ? { held: true, position: row.position ?? undefined } : { held: false };
  }

  async advance(
    name: string,
    owner: string,
    position: string | undefined,
    leaseMs: number,
  ): Promise<boolean> {
    const now = Date.now();
    const result = await this.lock.run(() =>
      this.move.run({ name, owner, position: position ?? null, expiresAt: now + leaseMs, now }),
    );
    return result.changes === 1;
  }

  async release(name: string, owner: string): Promise<void> {
    await this.lock.run(() => this.clear.run({ name, owner, now: Date.now() }));
  }

  close(): void {
    if (this.owned) releaseConnection(this.db);
  }
}
