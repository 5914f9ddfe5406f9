import type { Migration, Service } from './migrations/migration.js';
import { ordersMigrations } from './migrations/orders.js';
import { paymentsMigrations } from './migrations/payments.js';
import type { SqlDatabase } from './sql.js';

export type { Migration, Service } from './migrations/migration.js';
export { ordersMigrations } from './migrations/orders.js';
export { paymentsMigrations } from './migrations/payments.js';

/** Every service's migrations, by service. */
export const migrations: Readonly<Record<Service, readonly Migration[]>> = {
  orders: ordersMigrations,
  payments: paymentsMigrations,
};

// Any fixed number will do; it only has to be the same for every process that migrates.
const MIGRATION_LOCK = 4_711_020_260;

/**
 * Applies the migrations `db` lacks, in order, in one transaction, and returns their ids.
 * Safe to call on every start: concurrent callers queue on an advisory lock, and the ones that
 * come after find nothing left to do.
 */
export const migrate = async (db: SqlDatabase, service: Service): Promise<string[]> => {
  const list = migrations[service];
  return db.transaction(async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      id text PRIMARY KEY,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const { rows } = await client.query<{ id: string }>('SELECT id FROM schema_migrations');
    const done = new Set(rows.map((row) => row.id));
    const applied: string[] = [];
    for (const migration of list) {
      if (done.has(migration.id)) continue;
      await client.exec(migration.sql);
      await client.query('INSERT INTO schema_migrations (id) VALUES ($1)', [migration.id]);
      applied.push(migration.id);
    }
    return applied;
  });
};
