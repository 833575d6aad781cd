export * from './scheduled-messages.js';
export * from './scheduler.js';
