import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { migrate, PgDatabase, type Service } from '../postgres/index.js';

const LOCAL = 'postgres://postgres@127.0.0.1:5432/postgres';

/** A database of its own for one test or suite; `drop` closes it and deletes it. */
export interface TestDatabase {
  readonly name: string;
  /** A connection string for the new database (e.g. for a listener or a second pool). */
  readonly url: string;
  readonly db: PgDatabase;
  drop(): Promise<void>;
}

const withDatabase = (base: string, name: string): string => {
  const url = new URL(base);
  url.pathname = `/${name}`;
  return url.toString();
};

const adminQuery = async (adminUrl: string, sql: string): Promise<void> => {
  const client = new pg.Client({ connectionString: adminUrl });
  client.on('error', () => undefined);
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
};

/**
 * The server to create test databases on: `TEST_DATABASE_URL`, else the service's own URL
 * (`ORDERS_DATABASE_URL`, `PAYMENTS_DATABASE_URL`), else the local default. When none is set and
 * the local server does not answer, a throwaway container is tried (testcontainers, Docker).
 * Any failure is thrown: integration tests fail, they never skip.
 */
const adminUrlFor = async (service: Service | null): Promise<string> => {
  const configured =
    process.env.TEST_DATABASE_URL ??
    (service === 'orders' ? process.env.ORDERS_DATABASE_URL : undefined) ??
    (service === 'payments' ? process.env.PAYMENTS_DATABASE_URL : undefined) ??
    process.env.ORDERS_DATABASE_URL ??
    process.env.PAYMENTS_DATABASE_URL;
  if (configured) return configured;
  try {
    await adminQuery(LOCAL, 'SELECT 1');
    return LOCAL;
  } catch (err) {
    return containerUrl(err);
  }
};

// Just the slice of testcontainers@11 used here.
interface ContainerBuilder {
  withEnvironment(env: Record<string, string>): ContainerBuilder;
  withExposedPorts(...ports: number[]): ContainerBuilder;
  withWaitStrategy(strategy: unknown): ContainerBuilder;
  start(): Promise<{ getHost(): string; getMappedPort(port: number): number }>;
}
interface Testcontainers {
  GenericContainer: new (image: string) => ContainerBuilder;
  Wait: { forLogMessage(message: RegExp, times: number): unknown };
}

let container: Promise<string> | null = null;

/** Starts one Postgres container for the whole run, if testcontainers and Docker are there. */
const containerUrl = (localError: unknown): Promise<string> => {
  container ??= (async () => {
    // A variable specifier keeps testcontainers an optional, untyped, unbundled dependency.
    const specifier = 'testcontainers';
    let tc: Testcontainers;
    try {
      tc = (await import(specifier)) as Testcontainers;
    } catch {
      throw new Error(
        `PostgreSQL is unreachable at ${LOCAL} (${String(localError)}); set TEST_DATABASE_URL, ` +
          'or install testcontainers and run a Docker engine',
      );
    }
    const started = await new tc.GenericContainer('postgres:15-alpine')
      .withEnvironment({ POSTGRES_HOST_AUTH_METHOD: 'trust' })
      .withExposedPorts(5432)
      .withWaitStrategy(tc.Wait.forLogMessage(/ready to accept connections/, 2))
      .start();
    return `postgres://postgres@${started.getHost()}:${started.getMappedPort(5432)}/postgres`;
  })();
  return container;
};

/** Creates an empty database with a unique name and, given a service, migrates it. */
export const createTestDatabase = async (service: Service | null): Promise<TestDatabase> => {
  const adminUrl = await adminUrlFor(service);
  const name = `gozon_test_${randomBytes(6).toString('hex')}`;
  await adminQuery(adminUrl, `CREATE DATABASE ${name}`);
  const url = withDatabase(adminUrl, name);
  const db = PgDatabase.connect(url, { max: 10 });
  let dropped = false;
  const drop = async (): Promise<void> => {
    if (dropped) return;
    dropped = true;
    await db.close();
    await adminQuery(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  };
  try {
    if (service) await migrate(db, service);
  } catch (err) {
    await drop();
    throw err;
  }
  return { name, url, db, drop };
};
