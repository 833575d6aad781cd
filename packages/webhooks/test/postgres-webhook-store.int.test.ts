import { afterAll } from 'vitest';
import { describeWithPostgres, freshStores } from '../../postgres/test/pg-available.js';
import { createPostgresWebhookStore } from '../src/index.js';
import { webhookStoreSuite } from './webhook-store-suite.js';

describeWithPostgres('PostgresWebhookStore', () => {
  const stores = freshStores('ef_webhooks', 3);
  afterAll(() => stores.cleanup());
  webhookStoreSuite(async () => createPostgresWebhookStore(await stores.open()));
});
