export * from './projection.js';
export * from './projection-storage.js';
export * from './projection-daemon.js';
export * from './verify-projection.js';
export * from './projection-admin.js';
export * from './inline-projector.js';
