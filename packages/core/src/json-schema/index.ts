export * from './ajv.js';
