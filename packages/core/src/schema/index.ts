export * from './event-schemas.js';
