export * from './sagas.js';
