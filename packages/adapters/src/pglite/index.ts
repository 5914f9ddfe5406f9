// The embedded Postgres (PGlite) behind the same SQL seam as the Postgres adapters.
export * from './pglite-database.js';
export * from './data-dir-lock.js';
