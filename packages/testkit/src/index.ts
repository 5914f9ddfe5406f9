// Scratch resources on real servers for GoZon's integration tests, bench and chaos runs.
export * from './cleanup.js';
export * from './names.js';
export * from './postgres.js';
export * from './rabbitmq.js';
export * from './rabbitmq-cluster.js';
