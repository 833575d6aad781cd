export * from './relay-checkpoints.js';
