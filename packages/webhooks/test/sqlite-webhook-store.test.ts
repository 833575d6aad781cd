import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe } from 'vitest';
import { createSqliteEventStore, type SqliteEventStore } from '@eventfabric/sqlite';
import { createSqliteWebhookStore } from '../src/index.js';
import { webhookStoreSuite } from './webhook-store-suite.js';

describe('SqliteWebhookStore', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eventfabric-webhooks-'));
  const stores: SqliteEventStore[] = [];
  let n = 0;
  afterAll(async () => {
    for (const store of stores) await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  webhookStoreSuite(async () => {
    const store = createSqliteEventStore({ path: join(dir, `store-${++n}.db`) });
    stores.push(store);
    return createSqliteWebhookStore(store);
  });
});
