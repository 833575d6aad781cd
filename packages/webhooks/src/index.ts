// @eventfabric/webhooks: signed outgoing deliveries (Standard Webhooks) and verified
// incoming events. See docs/webhooks.md.
export * from './secrets.js';
export * from './standard-webhooks.js';
export * from './hmac-variants.js';
export * from './webhook-store.js';
export * from './sqlite-webhook-store.js';
export * from './postgres-webhook-store.js';
