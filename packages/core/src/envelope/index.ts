export * from './cloud-event.js';
export * from './event-type.js';
export * from './trace-context.js';
export * from './validate-event.js';
export * from './create-event.js';
