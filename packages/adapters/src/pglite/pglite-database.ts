import { PGlite, type Transaction } from '@electric-sql/pglite';
import type { SqlClient, SqlDatabase, SqlResult } from '../postgres/sql.js';
import { failedStatement } from '../postgres/failed-statement.js';
import { checkParams } from '../stored-text.js';
import { lockDataDir } from './data-dir-lock.js';

type Queryable = Pick<Transaction, 'query' | 'exec'>;

const run = async <R>(target: Queryable, text: string, params?: readonly unknown[]): Promise<SqlResult<R>> => {
  checkParams(params);
  let result;
  try {
    result = await target.query<R>(text, params as unknown[] | undefined);
  } catch (err) {
    throw failedStatement(err, text);
  }
  // node-postgres counts returned rows for SELECT and changed rows otherwise; match it.
  return { rows: result.rows, rowCount: Math.max(result.affectedRows ?? 0, result.rows.length) };
};

/**
 * The embedded default: real Postgres compiled to WebAssembly, in this process, behind the same
 * `SqlDatabase` seam (and so the same migrations and adapters) as a Postgres server. It has one
 * connection, so transactions run one at a time.
 */
export class PgliteDatabase implements SqlDatabase {
  constructor(
    readonly db: PGlite,
    private readonly unlock: () => Promise<void> = async () => {},
  ) {}

  /**
   * Opens (creating if needed) a database kept in `dataDir`; `memory://` keeps it in memory. A
   * directory is this process's alone while open: another's open throws `DataDirInUse`.
   */
  static async open(dataDir: string): Promise<PgliteDatabase> {
    if (dataDir.includes('://')) return new PgliteDatabase(await PGlite.create(dataDir));
    const unlock = await lockDataDir(dataDir);
    try {
      return new PgliteDatabase(await PGlite.create(dataDir), unlock);
    } catch (err) {
      await unlock();
      throw err;
    }
  }

  query<R = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<SqlResult<R>> {
    return run<R>(this.db, text, params);
  }

  async exec(script: string): Promise<void> {
    await this.db.exec(script);
  }

  transaction<T>(work: (client: SqlClient) => Promise<T>): Promise<T> {
    return this.db.transaction(async (tx) => {
      let open = true;
      const guard = (): void => {
        if (!open) throw new Error('the transaction has already ended');
      };
      const scoped: SqlClient = {
        query: async <R>(text: string, params?: readonly unknown[]) => {
          guard();
          return run<R>(tx, text, params);
        },
        exec: async (script) => {
          guard();
          await tx.exec(script);
        },
      };
      try {
        return await work(scoped);
      } finally {
        open = false;
      }
    });
  }

  /** Calls `onNotify` on each NOTIFY on `channel` (sent at commit); returns a function to stop. */
  async listen(channel: string, onNotify: () => void): Promise<() => Promise<void>> {
    return this.db.listen(channel, () => onNotify());
  }

  async close(): Promise<void> {
    try {
      await this.db.close();
    } finally {
      await this.unlock();
    }
  }
}
