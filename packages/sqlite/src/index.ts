export * from './sqlite-event-store.js';
export { migrate, migrations, type Migration } from './migrations/index.js';
export * from './sqlite-database.js';
export * from './sqlite-dead-letter-store.js';
export * from './sqlite-processed-events.js';
export type { AppendManyResult } from '@eventfabric/core';
export * from './sqlite-transport.js';
export { makeDirectories } from './make-directories.js';
export * from './sqlite-relay-checkpoints.js';
