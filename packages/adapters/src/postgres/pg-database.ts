import pg from 'pg';
import { checkParams } from '../stored-text.js';
import { failedStatement } from './failed-statement.js';
import { PreparedStatements } from './prepared-statements.js';
import type { SqlClient, SqlDatabase, SqlResult } from './sql.js';

export { plannedPerCall } from './prepared-statements.js';

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

const run = async <R>(
  client: pg.ClientBase | pg.Pool,
  query: pg.QueryConfig,
  params: readonly unknown[] | undefined,
): Promise<SqlResult<R>> => {
  checkParams(params);
  try {
    const result = await client.query(query);
    return { rows: result.rows as R[], rowCount: result.rowCount ?? 0 };
  } catch (err) {
    throw failedStatement(err, query.text);
  }
};

/** The socket under a pooled client, where node-postgres keeps it (absent in other environments). */
type Corkable = { cork?: () => void; uncork?: () => void };
const socketOf = (client: pg.PoolClient): Corkable | undefined =>
  (client as unknown as { connection?: { stream?: Corkable } }).connection?.stream;

// After the I/O callbacks of this turn, where the runtime has it.
const afterThisTurn: (fn: () => void) => void = globalThis.setImmediate ?? ((fn) => setTimeout(fn, 0));

/**
 * Holds a transaction's statements back until the end of the turn of the event loop that sent
 * them, so that the statements a pipelined transaction sends together (BEGIN with its first
 * reads, its writes with COMMIT) leave in one write, not one each. Each write to a server that
 * sleeps wakes it: on a quiet system that, not the statement, is most of what a statement costs
 * both processes (measured: a payment's transaction went from six writes to two).
 */
class TurnCork {
  private corked = false;

  constructor(private readonly socket: Corkable | undefined) {}

  hold(): void {
    const socket = this.socket;
    if (this.corked || !socket?.cork || !socket.uncork) return;
    this.corked = true;
    socket.cork();
    afterThisTurn(() => {
      this.corked = false;
      socket.uncork?.();
    });
  }
}

/** A COMMIT answered by a rollback: a statement of the transaction failed, and its caller did not hear. */
export class RolledBack extends Error {
  constructor() {
    super('the transaction was rolled back: one of its statements failed');
    this.name = 'RolledBack';
  }
}

/**
 * A `SqlDatabase` over a node-postgres pool: each transaction holds one pooled client. The pool is
 * this database's alone: the statements its connections have prepared are known here.
 */
export class PgDatabase implements SqlDatabase {
  private readonly prepared = new PreparedStatements();

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
    return run<R>(this.pool, this.prepared.config(text, params), params);
  }

  async exec(text: string): Promise<void> {
    // Without parameters node-postgres uses the simple protocol, which takes several statements.
    await this.pool.query(script(text));
  }

  async transaction<T>(work: (client: SqlClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    const held = new HeldClient(client, this.prepared);
    try {
      held.cork.hold();
      // Not waited for: in pipeline mode the transaction's first statements follow it on the wire.
      // Should BEGIN fail, so do they (the connection is broken or its transaction aborted).
      const begun = client.query('BEGIN');
      begun.catch(() => undefined);
      const result = await work(held.scoped);
      await begun;
      held.cork.hold();
      // COMMIT of a transaction in which a statement failed rolls it back, with no error.
      if ((await client.query('COMMIT')).command !== 'COMMIT') throw new RolledBack();
      return result;
    } catch (err) {
      await held.rollBack(err);
      throw err;
    } finally {
      held.release();
    }
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}

/** A client checked out of the pool for one transaction, and what became of its connection. */
class HeldClient {
  private open = true;
  /** Set when the connection is in an unknown state: the pool must discard it. */
  private broken: Error | undefined;
  private readonly onError = (err: Error): void => {
    this.broken ??= err;
  };
  /** The client handed to the transaction's work: it refuses queries once the transaction has ended. */
  readonly scoped: SqlClient;
  readonly cork: TurnCork;

  constructor(
    private readonly client: pg.PoolClient,
    prepared: PreparedStatements,
  ) {
    // A checked-out client that loses its connection between queries emits 'error'; unheard, that
    // would crash the process. Heard, it marks the client for the pool to discard.
    client.on('error', this.onError);
    this.cork = new TurnCork(socketOf(client));
    this.scoped = {
      query: async <R>(text: string, params?: readonly unknown[]) => {
        this.guard();
        this.cork.hold();
        return run<R>(client, prepared.config(text, params), params);
      },
      exec: async (text) => {
        this.guard();
        await client.query(script(text));
      },
    };
  }

  /** Rolls the transaction back after `err`, or leaves the connection to be discarded if it cannot. */
  async rollBack(err: unknown): Promise<void> {
    if (isQueryTimeout(err)) {
      // The connection is still busy with the unanswered statement: a ROLLBACK would wait behind
      // it. Discarding the connection rolls the transaction back.
      this.broken = err as Error;
      return;
    }
    try {
      await this.client.query('ROLLBACK');
    } catch (rollbackError) {
      this.broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
    }
  }

  release(): void {
    this.open = false;
    this.client.off('error', this.onError);
    this.client.release(this.broken);
  }

  private guard(): void {
    if (!this.open) throw new Error('the transaction has already ended');
  }
}
