export * from './inline.js';
