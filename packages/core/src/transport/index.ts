export * from './transport.js';
export * from './topic-pattern.js';
export * from './consumer-group.js';
export * from './in-memory-transport.js';
