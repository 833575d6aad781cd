import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSqliteEventStore, type SqliteEventStore } from '@eventfabric/sqlite';
import { createSqliteWebhookStore, WebhookService, type SqliteWebhookStore } from '../src/index.js';

/** Loopback is private: tests allow it, as an operator would for a local receiver. */
export const ALLOW_LOOPBACK = ['127.0.0.1/32'];

export interface Fixture {
  dir: string;
  events: SqliteEventStore;
  store: SqliteWebhookStore;
  service: WebhookService;
  close(): Promise<void>;
}

/** A SQLite event store and webhook store in a temp dir, and a service over them. */
export function openFixture(): Fixture {
  const dir = mkdtempSync(join(tmpdir(), 'eventfabric-webhooks-'));
  const events = createSqliteEventStore({ path: join(dir, 'store.db'), allowForeignTypes: true });
  const store = createSqliteWebhookStore(events);
  const service = new WebhookService({ store, events, allow: ALLOW_LOOPBACK });
  return {
    dir,
    events,
    store,
    service,
    async close() {
      await events.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
