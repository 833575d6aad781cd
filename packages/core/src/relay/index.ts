export * from './relay.js';
export * from './relay-checkpoints.js';
