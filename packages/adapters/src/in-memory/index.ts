// In-memory adapters for every port of @gozon/core: a test harness for GoZon and for projects
// that embed the core with adapters of their own.
export * from './mutex.js';
export * from './table.js';
export * from './database.js';
export * from './unit-of-work.js';
export * from './queries.js';
export * from './outbox-store.js';
export * from './delivery-counter.js';
export * from './dead-letter-store.js';
export * from './broker.js';
export * from './messaging.js';
export * from './direct-bus.js';
export * from './system.js';
