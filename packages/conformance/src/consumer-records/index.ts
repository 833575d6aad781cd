export * from './dead-letter-store.js';
export * from './processed-events.js';
