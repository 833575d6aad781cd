export * from './scheduled-messages.js';
