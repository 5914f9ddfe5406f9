import pg from 'pg';
import { onCleanup } from './cleanup.js';
import { postgresContainer } from './containers.js';
import { scratchName } from './names.js';

const LOCAL = 'postgres://postgres@127.0.0.1:5432/postgres';

/** Which service's variable names the server, when `TEST_DATABASE_URL` does not. */
export type ServiceName = 'orders' | 'payments';

/** An empty database of its own for one test, suite or run; `drop` deletes it. */
export interface ScratchDatabase {
  readonly name: string;
  /** A connection string for the new database. */
  readonly url: string;
  /** Deletes the database, closing whatever is still connected to it. */
  drop(): Promise<void>;
}

const withDatabase = (base: string, name: string): string => {
  const url = new URL(base);
  url.pathname = `/${name}`;
  return url.toString();
};

const adminQuery = async (adminUrl: string, sql: string): Promise<void> => {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5_000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
};

let local: Promise<string> | undefined;

/**
 * The server to make databases on: `TEST_DATABASE_URL`, else the service's own URL
 * (`ORDERS_DATABASE_URL`, `PAYMENTS_DATABASE_URL`), else the local server, which is asked first;
 * only when it does not answer is a container started. Failures are thrown: integration tests
 * fail, they never skip.
 */
const adminUrlFor = async (service: ServiceName | null): Promise<string> => {
  const configured =
    process.env['TEST_DATABASE_URL'] ??
    (service === 'orders' ? process.env['ORDERS_DATABASE_URL'] : undefined) ??
    (service === 'payments' ? process.env['PAYMENTS_DATABASE_URL'] : undefined) ??
    process.env['ORDERS_DATABASE_URL'] ??
    process.env['PAYMENTS_DATABASE_URL'];
  if (configured) return configured;
  local ??= adminQuery(LOCAL, 'SELECT 1').then(
    () => LOCAL,
    () => postgresContainer(),
  );
  return local;
};

/**
 * Creates an empty database with a fresh name. It is registered for cleanup before it is asked
 * for, so a run interrupted while the server creates it still drops it once it exists.
 */
export const createScratchDatabase = async (service: ServiceName | null = null): Promise<ScratchDatabase> => {
  const adminUrl = await adminUrlFor(service);
  const name = scratchName();
  const created = adminQuery(adminUrl, `CREATE DATABASE ${name}`);
  let dropping: Promise<void> | undefined;
  const drop = (): Promise<void> => {
    // Registered until dropped: a run that is ending waits for a drop someone else began.
    dropping ??= (async () => {
      await created.catch(() => undefined);
      await adminQuery(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    })().finally(() => unregister());
    return dropping;
  };
  const unregister = onCleanup(`database ${name}`, drop);
  try {
    await created;
  } catch (err) {
    unregister();
    throw err;
  }
  return { name, url: withDatabase(adminUrl, name), drop };
};

/** A scratch database opened with the caller's driver: testkit knows none of GoZon's adapters. */
export interface OpenedDatabase<Db> extends ScratchDatabase {
  readonly db: Db;
}

/**
 * Creates a scratch database, opens it with `open` and readies it with `prepare` (say, migrations);
 * `drop` closes it and deletes it. A database that cannot be readied is dropped at once.
 */
export const openScratchDatabase = async <Db extends { close(): Promise<void> }>(
  service: ServiceName | null,
  open: (url: string) => Db,
  prepare: (db: Db) => Promise<unknown> = async () => undefined,
): Promise<OpenedDatabase<Db>> => {
  const scratch = await createScratchDatabase(service);
  const db = open(scratch.url);
  const drop = async (): Promise<void> => {
    await db.close();
    await scratch.drop();
  };
  try {
    await prepare(db);
  } catch (err) {
    await drop();
    throw err;
  }
  return { name: scratch.name, url: scratch.url, db, drop };
};
