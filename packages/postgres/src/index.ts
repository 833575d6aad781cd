export * from './postgres-event-store.js';
export type { PostgresEventStoreOptions } from './postgres-options.js';
export type { HorizonBlocker, HorizonResult } from './sql/horizon.js';
export { migrate, migrations, type Migration } from './migrations/index.js';
export { withTransaction, PostgresTransaction } from './postgres-transaction.js';
export * from './postgres-processed-events.js';
export * from './postgres-dead-letter-store.js';
export * from './postgres-queue-transport.js';
export * from './horizon-metrics.js';
