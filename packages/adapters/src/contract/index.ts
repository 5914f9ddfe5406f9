// Contract suites: every adapter of a port runs the same suite, which is what makes the
// in-memory harness a faithful stand-in for Postgres and RabbitMQ. Call them from a mocha spec.
export * from './fixtures.js';
export * from './order-store.contract.js';
export * from './payment-store.contract.js';
export * from './outbox.contract.js';
export * from './inbox.contract.js';
export * from './delivery-counter.contract.js';
export * from './dead-letter-store.contract.js';
export * from './idempotency.contract.js';
export * from './broker.contract.js';
export * from './flow.contract.js';
