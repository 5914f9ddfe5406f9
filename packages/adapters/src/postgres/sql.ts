/** The result of one statement. */
export interface SqlResult<R> {
  readonly rows: R[];
  /** Rows the statement returned or changed. */
  readonly rowCount: number;
}

/**
 * One connection, or one transaction on it. Adapters speak plain SQL with `$1` placeholders
 * through this, so any engine that runs Postgres SQL (node-postgres, PGlite) can stand behind it.
 */
export interface SqlClient {
  /** Runs one statement with positional parameters. */
  query<R = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<SqlResult<R>>;
  /** Runs a script of one or more statements without parameters (migrations). */
  exec(script: string): Promise<void>;
}

/** A database you can query and run transactions on. */
export interface SqlDatabase extends SqlClient {
  /**
   * Runs `work` between BEGIN and COMMIT on one connection; rolls back and rethrows if it throws.
   * The client handed to `work` refuses queries once the transaction has ended.
   */
  transaction<T>(work: (client: SqlClient) => Promise<T>): Promise<T>;
  /** Closes every connection; in-flight work should be finished first. */
  close(): Promise<void>;
}

/** SQLSTATE of an error thrown by the engine, if it has one. */
export const sqlState = (err: unknown): string | undefined => {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
};

export const isUniqueViolation = (err: unknown): boolean => sqlState(err) === '23505';

export const isCheckViolation = (err: unknown): boolean => sqlState(err) === '23514';
