export * from './errors/index.js';
export * from './envelope/index.js';
export * from './json-schema/index.js';
export * from './schema/index.js';
export * from './event-store/index.js';
export * from './transport/index.js';
export * from './consumer/index.js';
export * from './replay/index.js';
