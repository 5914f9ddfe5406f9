import pg from 'pg';
import type { SqlClient, SqlDatabase, SqlResult } from './sql.js';

export interface PgDatabaseOptions {
  /** Largest number of pooled connections. */
  readonly max?: number;
  /** Told of errors on idle pooled connections (e.g. the server restarted); the pool recovers. */
  readonly onError?: (err: Error) => void;
  /** How long to wait for a connection before failing (default 5 s). */
  readonly connectionTimeoutMs?: number;
}

const run = async <R>(
  client: pg.ClientBase | pg.Pool,
  text: string,
  params?: readonly unknown[],
): Promise<SqlResult<R>> => {
  const result = await client.query(text, params as unknown[] | undefined);
  return { rows: result.rows as R[], rowCount: result.rowCount ?? 0 };
};

/** A `SqlDatabase` over a node-postgres pool: each transaction holds one pooled client. */
export class PgDatabase implements SqlDatabase {
  constructor(readonly pool: pg.Pool) {}

  static connect(connectionString: string, options: PgDatabaseOptions = {}): PgDatabase {
    const pool = new pg.Pool({
      connectionString,
      max: options.max ?? 10,
      // A database that does not answer must fail requests in bounded time (503), not hang them.
      connectionTimeoutMillis: options.connectionTimeoutMs ?? 5_000,
    });
    // Without a listener an idle client's error (server restart, killed backend) crashes the process.
    pool.on('error', options.onError ?? (() => undefined));
    return new PgDatabase(pool);
  }

  query<R = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<SqlResult<R>> {
    return run<R>(this.pool, text, params);
  }

  async exec(script: string): Promise<void> {
    // Without parameters node-postgres uses the simple protocol, which takes several statements.
    await this.pool.query(script);
  }

  async transaction<T>(work: (client: SqlClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let open = true;
    let broken: Error | undefined;
    // A checked-out client that loses its connection between queries emits 'error'; unheard, that
    // would crash the process. Heard, it marks the client for the pool to discard.
    const onError = (err: Error): void => {
      broken ??= err;
    };
    client.on('error', onError);
    const guard = (): void => {
      if (!open) throw new Error('the transaction has already ended');
    };
    const scoped: SqlClient = {
      query: async <R>(text: string, params?: readonly unknown[]) => {
        guard();
        return run<R>(client, text, params);
      },
      exec: async (script) => {
        guard();
        await client.query(script);
      },
    };
    try {
      await client.query('BEGIN');
      const result = await work(scoped);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      try {
        await client.query('ROLLBACK');
      } catch (rollbackError) {
        // A connection that cannot roll back is in an unknown state: the pool must discard it.
        broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
      }
      throw err;
    } finally {
      open = false;
      client.off('error', onError);
      client.release(broken);
    }
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}
