// The public API of @gozon/messaging: how messages leave the outbox and how consumers take them.
export * from './outbox-store.js';
export * from './publisher.js';
export * from './codec.js';
export * from './relay-outbox.js';
export * from './leased-relay.js';
export * from './held-relay.js';
export * from './relay-loop.js';
export * from './commit-dispatcher.js';
export * from './retry-policy.js';
export * from './poison.js';
export * from './dead-letters.js';
export * from './batcher.js';
