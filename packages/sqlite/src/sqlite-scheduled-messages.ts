import type Database from 'better-sqlite3';
import type { CloudEvent, ScheduledMessage, ScheduledMessageStore } from '@eventfabric/core';
import {
  connectionLock,
  openTarget,
  releaseConnection,
  type ConnectionLock,
  type SqliteTarget,
} from './sqlite-database.js';

interface Row {
  id: string;
  due_at: number;
  event: string;
  attempts: number;
}

/**
 * Scheduled events in the store's SQLite file (`scheduled_messages`, migration 006). A claim
 * sets the row's owner and lease in one `BEGIN IMMEDIATE` transaction, so two schedulers
 * (in one process or several) never claim the same row while its lease runs.
 */
export class SqliteScheduledMessages implements ScheduledMessageStore {
  private readonly db: Database.Database;
  private readonly owned: boolean;
  private readonly lock: ConnectionLock;
  private readonly insert: Database.Statement;
  private readonly remove: Database.Statement;
  private readonly claim: (now: number, limit: number, owner: string, leaseMs: number) => Row[];
  private readonly done: Database.Statement;
  private readonly next: Database.Statement;
  private readonly all: Database.Statement;

  constructor(target: SqliteTarget) {
    ({ db: this.db, owned: this.owned } = openTarget(target));
    this.lock = connectionLock(this.db);
    this.insert = this.db.prepare(
      'INSERT INTO scheduled_messages (id, due_at, event) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING',
    );
    this.remove = this.db.prepare(
      'DELETE FROM scheduled_messages WHERE id = ? AND locked_until <= ?',
    );
    const select = this.db.prepare(
      `SELECT id, due_at, event, attempts + 1 AS attempts FROM scheduled_messages
       WHERE due_at <= @now AND locked_until <= @now ORDER BY due_at, id LIMIT @limit`,
    );
    const take = this.db.prepare(
      `UPDATE scheduled_messages SET locked_by = @owner, locked_until = @until, attempts = attempts + 1
       WHERE id = @id`,
    );
    const claim = this.db.transaction(
      (now: number, limit: number, owner: string, leaseMs: number) => {
        const rows = select.all({ now, limit }) as Row[];
        for (const row of rows) take.run({ owner, until: now + leaseMs, id: row.id });
        return rows;
      },
    );
    this.claim = (now, limit, owner, leaseMs) => claim.immediate(now, limit, owner, leaseMs);
    this.done = this.db.prepare('DELETE FROM scheduled_messages WHERE id = ? AND locked_by = ?');
    this.next = this.db
      .prepare(
        'SELECT min(max(due_at, CASE WHEN locked_until > ? THEN locked_until ELSE 0 END)) FROM scheduled_messages',
      )
      .pluck();
    this.all = this.db.prepare(
      'SELECT id, due_at, event, attempts FROM scheduled_messages ORDER BY due_at, id LIMIT ?',
    );
  }

  async schedule(event: CloudEvent, dueAt: number): Promise<void> {
    await this.lock.run(() => this.insert.run(event.id, dueAt, JSON.stringify(event)));
  }

  async cancel(id: string): Promise<boolean> {
    return (await this.lock.run(() => this.remove.run(id, Date.now()))).changes === 1;
  }

  async claimDue(
    now: number,
    limit: number,
    owner: string,
    leaseMs: number,
  ): Promise<ScheduledMessage[]> {
    return (await this.lock.run(() => this.claim(now, limit, owner, leaseMs))).map(toMessage);
  }

  async complete(id: string, owner: string): Promise<void> {
    await this.lock.run(() => this.done.run(id, owner));
  }

  async nextDue(): Promise<number | undefined> {
    return ((await this.lock.run(() => this.next.get(Date.now()))) as number | null) ?? undefined;
  }

  async list(limit: number): Promise<ScheduledMessage[]> {
    return ((await this.lock.run(() => this.all.all(limit))) as Row[]).map(toMessage);
  }

  close(): void {
    if (this.owned) releaseConnection(this.db);
  }
}

function toMessage(row: Row): ScheduledMessage {
  return {
    id: row.id,
    dueAt: row.due_at,
    event: JSON.parse(row.event) as CloudEvent,
    attempts: row.attempts,
  };
}
