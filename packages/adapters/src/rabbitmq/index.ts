// RabbitMQ adapters for GoZon's messaging ports: topology, a self-healing connection, a
// confirming publisher, a retrying subscriber, and queue helpers for operators and tests.
export * from './topology.js';
export * from './redact.js';
export * from './nodes.js';
export * from './identity.js';
export * from './connection.js';
export * from './confirm.js';
export * from './publisher.js';
export * from './subscriber.js';
export * from './queue-tools.js';
export * from './dead-letters.js';
export { contentOf, fromAmqp, publishOptions } from './wire.js';
