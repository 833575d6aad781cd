// @eventfabric/webhooks: signed outgoing deliveries (Standard Webhooks) and verified
// incoming events. See docs/webhooks.md.
export {};
