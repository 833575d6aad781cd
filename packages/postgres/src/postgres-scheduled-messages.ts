import type { CloudEvent, ScheduledMessage, ScheduledMessageStore } from '@eventfabric/core';
import type { PostgresRecordsTarget } from './postgres-dead-letter-store.js';
import { storeError } from './postgres-transaction.js';
import { quoteIdentifier } from './schema-name.js';

interface Row {
  id: string;
  due_at: string;
  event: string;
  attempts: number;
}

/**
 * Scheduled events in the store's PostgreSQL schema (`scheduled_messages`, migration 007).
 * A claim is one `UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED)`, so schedulers in
 * any number of processes never claim one row while its lease runs.
 */
export class PostgresScheduledMessages implements ScheduledMessageStore {
  private readonly s: string;

  constructor(private readonly target: PostgresRecordsTarget) {
    this.s = quoteIdentifier(target.schema);
  }

  async schedule(event: CloudEvent, dueAt: number): Promise<void> {
    await this.run(() =>
      this.target.pool.query(
        `INSERT INTO ${this.s}.scheduled_messages (id, due_at, event) VALUES ($1, $2, $3)
         ON CONFLICT (id) DO NOTHING`,
        [event.id, dueAt, JSON.stringify(event)],
      ),
    );
  }

  async cancel(id: string): Promise<boolean> {
    const result = await this.run(() =>
      this.target.pool.query(
        `DELETE FROM ${this.s}.scheduled_messages WHERE id = $1 AND locked_until <= $2`,
        [id, Date.now()],
      ),
    );
    return result.rowCount === 1;
  }

  async claimDue(
    now: number,
    limit: number,
    owner: string,
    leaseMs: number,
  ): Promise<ScheduledMessage[]> {
    const result = await this.run(() =>
      this.target.pool.query<Row>(
        `UPDATE ${this.s}.scheduled_messages m
         SET locked_by = $3, locked_until = $1::bigint + $4, attempts = m.attempts + 1
         WHERE m.id IN (
           SELECT id FROM ${this.s}.scheduled_messages
           WHERE due_at <= $1 AND locked_until <= $1
           ORDER BY due_at, id LIMIT $2
           FOR UPDATE SKIP LOCKED)
         RETURNING m.id, m.due_at, m.event, m.attempts`,
        [now, limit, owner, leaseMs],
      ),
    );
    return result.rows
      .map(toMessage)
      .sort((a, b) => a.dueAt - b.dueAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async complete(id: string, owner: string): Promise<void> {
    await this.run(() =>
      this.target.pool.query(
        `DELETE FROM ${this.s}.scheduled_messages WHERE id = $1 AND locked_by = $2`,
        [id, owner],
      ),
    );
  }

  async nextDue(): Promise<number | undefined> {
    const result = await this.run(() =>
      this.target.pool.query<{ next: string | null }>(
        `SELECT min(greatest(due_at, CASE WHEN locked_until > $1 THEN locked_until ELSE 0 END))::text AS next
         FROM ${this.s}.scheduled_messages`,
        [Date.now()],
      ),
    );
    const next = result.rows[0]?.next;
    return next === null || next === undefined ? undefined : Number(next);
  }

  async list(limit: number): Promise<ScheduledMessage[]> {
    const result = await this.run(() =>
      this.target.pool.query<Row>(
        `SELECT id, due_at, event, attempts FROM ${this.s}.scheduled_messages
         ORDER BY due_at, id LIMIT $1`,
        [limit],
      ),
    );
    return result.rows.map(toMessage);
  }

  private async run<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw storeError(error, this.target.schema);
    }
  }
}

function toMessage(row: Row): ScheduledMessage {
  return {
    id: row.id,
    dueAt: Number(row.due_at),
    event: JSON.parse(row.event) as CloudEvent,
    attempts: row.attempts,
  };
}
