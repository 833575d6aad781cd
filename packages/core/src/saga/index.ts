export * from './saga.js';
export * from './saga-storage.js';
export * from './saga-daemon.js';
