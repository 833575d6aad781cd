// @eventfabric/webhooks: signed outgoing deliveries (Standard Webhooks) and verified
// incoming events. See docs/webhooks.md.
export * from './secrets.js';
export * from './standard-webhooks.js';
export * from './hmac-variants.js';
export * from './webhook-store.js';
export * from './sqlite-webhook-store.js';
export * from './postgres-webhook-store.js';
export * from './address-policy.js';
export * from './target-resolver.js';
export * from './http-post.js';
export * from './retry-schedule.js';
export * from './subscription-input.js';
export * from './fanout.js';
export * from './webhook-metrics.js';
export * from './dispatcher.js';
export * from './webhook-service.js';
export * from './webhook-engine.js';
export * from './incoming.js';
