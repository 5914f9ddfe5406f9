import pg from 'pg';
import { checkParams } from '../stored-text.js';
import { failedStatement } from './failed-statement.js';
import type { SqlClient, SqlDatabase, SqlResult } from './sql.js';

export interface PgDatabaseOptions {
  /** Largest number of pooled connections. */
  readonly max?: number;
  /** Told of errors on idle pooled connections (e.g. the server restarted); the pool recovers. */
  readonly onError?: (err: Error) => void;
  /** How long to wait for a connection before failing (default 5 s). */
  readonly connectionTimeoutMs?: number;
  /**
   * How long a statement may wait for the server's answer before it fails and its connection is
   * discarded (default: no limit). Scripts (`exec`: migrations) have no limit.
   */
  readonly queryTimeoutMs?: number;
}

// setTimeout's longest delay (about 24 days): a script takes as long as it needs.
const NO_TIMEOUT_MS = 2_147_483_647;

/** node-postgres's error for a statement unanswered within `query_timeout`. */
const isQueryTimeout = (err: unknown): boolean => err instanceof Error && err.message === 'Query read timeout';

/** A script's query, exempt from the pool's statement timeout (which pg's own types do not list). */
const script = (text: string): pg.QueryConfig => ({ text, query_timeout: NO_TIMEOUT_MS }) as pg.QueryConfig;

/** Statement names by text, shared by every pool of the process; past the cap, statements go unnamed. */
const prepared = new Map<string, string>();
const MAX_PREPARED = 200;

/** Statements planned for the values of each call: see `plannedPerCall`. */
const perCall = new Set<string>();

/**
 * Marks a statement to go unnamed, so Postgres plans it for each call's values instead of keeping
 * a generic plan. For lookups of a list of keys (`= ANY($1)`) in a table that grows: the generic
 * plan cannot see the list's length, and one chosen while the table was young (a few pages, before
 * its first ANALYZE) is a sequential scan, kept until the next ANALYZE, so each call reads the
 * whole table. Planned per call, the list's length is known, and the primary key is used.
 */
export const plannedPerCall = (text: string): string => {
  perCall.add(text);
  return text;
};

/**
 * A statement with parameters is named, so each pooled connection parses and plans it once and
 * then only binds and executes it: the adapters' statements are few and fixed, and on a busy
 * server the parse and plan of such short statements cost about as much as running them.
 */
const statement = (text: string, params: readonly unknown[] | undefined): pg.QueryConfig => {
  const values = params as unknown[] | undefined;
  if (!values || values.length === 0) return { text };
  if (perCall.has(text)) return { text, values };
  let name = prepared.get(text);
  if (name === undefined && prepared.size < MAX_PREPARED) {
    name = `gozon_${prepared.size + 1}`;
    prepared.set(text, name);
  }
  return name === undefined ? { text, values } : { name, text, values };
};

const run = async <R>(
  client: pg.ClientBase | pg.Pool,
  text: string,
  params?: readonly unknown[],
): Promise<SqlResult<R>> => {
  checkParams(params);
  try {
    const result = await client.query(statement(text, params));
    return { rows: result.rows as R[], rowCount: result.rowCount ?? 0 };
  } catch (err) {
    throw failedStatement(err, text);
  }
};

/** A COMMIT answered by a rollback: a statement of the transaction failed, and its caller did not hear. */
export class RolledBack extends Error {
  constructor() {
    super('the transaction was rolled back: one of its statements failed');
    this.name = 'RolledBack';
  }
}

/** A `SqlDatabase` over a node-postgres pool: each transaction holds one pooled client. */
export class PgDatabase implements SqlDatabase {
  constructor(readonly pool: pg.Pool) {}

  static connect(connectionString: string, options: PgDatabaseOptions = {}): PgDatabase {
    const pool = new pg.Pool({
      connectionString,
      max: options.max ?? 10,
      // A database that does not answer must fail requests in bounded time (503), not hang them.
      connectionTimeoutMillis: options.connectionTimeoutMs ?? 5_000,
      // A connection whose server stopped answering (a hung host, a partition) would hold its
      // request, and its pooled client, forever.
      query_timeout: options.queryTimeoutMs,
      // Statements are written at once, without waiting for the answer to the one before: a
      // transaction sends BEGIN with its first reads and its last writes with COMMIT. Answers
      // still come back in order, each to its own statement.
      pipeline: true,
    });
    // Without a listener an idle client's error (server restart, killed backend) crashes the process.
    pool.on('error', options.onError ?? (() => undefined));
    return new PgDatabase(pool);
  }

  query<R = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<SqlResult<R>> {
    return run<R>(this.pool, text, params);
  }

  async exec(text: string): Promise<void> {
    // Without parameters node-postgres uses the simple protocol, which takes several statements.
    await this.pool.query(script(text));
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
      exec: async (text) => {
        guard();
        await client.query(script(text));
      },
    };
    try {
      // Not waited for: in pipeline mode the transaction's first statements follow it on the wire.
      // Should BEGIN fail, so do they (the connection is broken or its transaction aborted).
      const begun = client.query('BEGIN');
      begun.catch(() => undefined);
      const result = await work(scoped);
      await begun;
      // COMMIT of a transaction in which a statement failed rolls it back, with no error.
      if ((await client.query('COMMIT')).command !== 'COMMIT') throw new RolledBack();
      return result;
    } catch (err) {
      if (isQueryTimeout(err)) {
        // The connection is still busy with the unanswered statement: a ROLLBACK would wait behind
        // it. Discarding the connection rolls the transaction back.
        broken = err as Error;
        throw err;
      }
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
