export * from './sqlite-event-store.js';
export { migrate, migrations, type Migration } from './migrations/index.js';
