export * from './postgres-event-store.js';
export type { PostgresEventStoreOptions } from './postgres-options.js';
export type { HorizonBlocker, HorizonResult } from './sql/horizon.js';
export { migrate, migrations, type Migration } from './migrations/index.js';
