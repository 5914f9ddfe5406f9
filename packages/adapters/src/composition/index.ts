// One composition per service, shared by the services, the in-memory system and the integration harness.
export * from './dispatch.js';
export * from './consumers.js';
export * from './orders.js';
export * from './payments.js';
export * from './reconcile.js';
