import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSqliteEventStore, type SqliteEventStore } from '@eventfabric/sqlite';
import {
  IncomingWebhooks,
  WebhookService,
  createSqliteWebhookStore,
  type IncomingSourceConfig,
  type SqliteWebhookStore,
} from '@eventfabric/webhooks';
import { FileApiKeyStore, createServer, type EventFabricServer } from '../src/index.js';

export type Role = 'acmeAdmin' | 'acmeReader' | 'globexAdmin';

export interface WebhookTestServer {
  server: EventFabricServer;
  store: SqliteEventStore;
  webhooks: SqliteWebhookStore;
  service: WebhookService;
  /** Authorization headers by role. */
  auth: Record<Role, { authorization: string }>;
  close(): Promise<void>;
}

/** A server with API keys for two tenants, webhooks (loopback allowlisted) and hook sources. */
export async function openWebhookServer(
  sources: Record<string, IncomingSourceConfig> = {},
): Promise<WebhookTestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'eventfabric-server-webhooks-'));
  const store = createSqliteEventStore({ path: join(dir, 'store.db') });
  const keys = new FileApiKeyStore(join(dir, 'api-keys.json'));
  const secret = async (tenant: string, scopes: string[]) =>
    `Bearer ${(await keys.create({ tenant, scopes })).secret}`;
  const auth = {
    acmeAdmin: { authorization: await secret('acme', ['admin', 'read:*']) },
    acmeReader: { authorization: await secret('acme', ['read:*', 'publish:*']) },
    globexAdmin: { authorization: await secret('globex', ['admin', 'read:*']) },
  };
  const webhooks = createSqliteWebhookStore(store);
  const service = new WebhookService({ store: webhooks, events: store, allow: ['127.0.0.1/32'] });
  const hooks = new IncomingWebhooks({ store, sources });
  const server = await createServer({ store, keys, webhooks: service, hooks });
  return {
    server,
    store,
    webhooks,
    service,
    auth,
    async close() {
      await server.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
