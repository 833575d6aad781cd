export * from './codes.js';
export * from './event-fabric-error.js';
export * from './errors.js';
export * from './http-errors.js';
export * from './webhook-errors.js';
