// PostgreSQL adapters for every storage port of @gozon/core, on plain SQL behind `SqlDatabase`.
export * from './sql.js';
export * from './pg-database.js';
export * from './migrate.js';
export * from './unit-of-work.js';
export * from './batched-transaction.js';
export * from './order-repository.js';
export * from './account-repository.js';
export * from './payment-repository.js';
export * from './outbox.js';
export * from './inbox.js';
export * from './delivery-counter.js';
export * from './dead-letter-store.js';
export * from './idempotency-store.js';
export * from './outbox-store.js';
export { pgOutboxHold } from './outbox-leadership.js';
export * from './queries.js';
export * from './outbox-listener.js';
export * from './retention.js';
