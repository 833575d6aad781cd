export * from './relay.js';
export * from './relay-checkpoints.js';
export * from './relay-metrics.js';
