// What the repository's own tools (bench, chaos, the end-to-end harness in packages/tools) use from
// inside the apps: they measure and drive the very parts the services are made of. Not an API:
// @gozon/apps is never published, and nothing outside this repository imports it. The built-in
// OpenID provider has an entry of its own (internals/provider): loading its library costs time.
export { authenticate } from './auth/bearer.js';
export { MemorySessionStore } from './auth/session-store.js';
export { sessionToBearer } from './auth/session-to-bearer.js';
export { TokenVerifier } from './auth/verifier.js';
export { readConfig } from './config.js';
export { createLogger, logDestination } from './logger.js';
export { installTracing } from './observability/tracing.js';
export { gatewayApp } from './runtime/gateway-part.js';
export { RELAY_CONCURRENCY, RELAY_LOOP } from './runtime/service-part.js';
export { refuse, strictly, UsageError, USAGE_EXIT_CODE } from './command-line.js';
