import type { SqlClient, SqlDatabase, SqlResult } from './sql.js';
import { WriteBatch, type RowWrite } from './write-batch.js';

export type { RowWrite } from './write-batch.js';

/**
 * What repositories of one unit of work talk to: queries that need an answer, and rows written
 * that need none. When the rows reach the database is the transaction's business, not theirs.
 */
export interface PgTransaction extends SqlClient {
  /** Writes `row` (columns by key) of `kind`; a second row with the same `key` replaces the first. */
  write(kind: RowWrite, key: string, row: object): void;
  /** Sends a NOTIFY on `channel`, delivered by Postgres only if and when the transaction commits. */
  announce(channel: string): void;
  /** Runs `task` once the transaction has committed; never if it rolls back. */
  afterCommit(task: () => void): void;
}

/** The transaction's end, once it has begun: COMMIT or ROLLBACK on its connection. */
interface Ending {
  commit(): void;
  rollback(err: unknown): void;
}

const ignore = (): void => undefined;

/**
 * A transaction that costs as few round trips as it can: the speed of the Postgres unit of work,
 * kept here so that the unit of work and its repositories read as plain SQL.
 *
 * - BEGIN waits for the first query. A unit of work that only writes (placing an order: its row
 *   and its outbox row) is then one statement, atomic in a transaction of its own.
 * - Rows written (`write`) are held back and sent as one statement per batch, a JSON array per
 *   kind of row (`WriteBatch`), together with the next query or the COMMIT.
 * - Nothing waits for an answer it does not need: on a pool that pipelines (`PgDatabase`), a unit
 *   of work that reads first sends BEGIN with its first reads, then its writes with COMMIT: two
 *   round trips.
 */
export class BatchedTransaction implements PgTransaction {
  private readonly batch = new WriteBatch();
  private readonly committed: (() => void)[] = [];
  private ended = false;
  /** The connection, once a query asked for one (and with it for BEGIN). */
  private opening: Promise<SqlClient> | undefined;
  /** Settles when the database's transaction has ended. */
  private settled: Promise<void> = Promise.resolve();
  private ending: Ending | undefined;

  constructor(private readonly db: SqlDatabase) {}

  write(kind: RowWrite, key: string, row: object): void {
    this.batch.add(kind, key, row);
  }

  announce(channel: string): void {
    this.batch.announce(channel);
  }

  afterCommit(task: () => void): void {
    this.committed.push(task);
  }

  async query<R = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<SqlResult<R>> {
    const client = await this.begin();
    // The held-back writes and the query go out together; a failed write is the error to report
    // (the query behind it then fails only because the transaction has).
    const flushed = this.batch.flush(client);
    const answer = client.query<R>(text, params);
    try {
      await flushed;
    } catch (err) {
      answer.catch(ignore);
      throw err;
    }
    return answer;
  }

  async exec(script: string): Promise<void> {
    const client = await this.begin();
    await this.batch.flush(client);
    await client.exec(script);
  }

  /** Sends what is held and commits; then runs what waited for the commit. */
  async commit(): Promise<void> {
    if (this.opening) await this.commitBegun();
    else {
      // Nothing read: the writes are one statement, atomic in a transaction of its own.
      this.ended = true;
      await this.batch.flush(this.db);
    }
    for (const task of this.committed.splice(0)) {
      try {
        task();
      } catch {
        // After the commit nothing may fail the unit of work; the tasks report their own errors.
      }
    }
  }

  /** Drops what is held and rolls back what was sent, if anything was. */
  async rollback(err: unknown): Promise<void> {
    this.ended = true;
    if (!this.opening) return;
    // A query may have asked for the transaction without waiting for it: let it begin, then roll back.
    await this.opening.catch(ignore);
    this.ending?.rollback(err);
    await this.settled.catch(ignore);
  }

  private async commitBegun(): Promise<void> {
    let client: SqlClient;
    try {
      client = await this.begin();
    } catch (err) {
      await this.rollback(err);
      throw err;
    }
    // The last writes and the COMMIT go out together. If the writes fail, the transaction is
    // aborted and its COMMIT rolls it back; the writes' error is the one to report.
    const flushed = this.batch.flush(client);
    flushed.catch(ignore);
    this.ended = true;
    this.ending?.commit();
    try {
      await flushed;
    } catch (err) {
      await this.settled.catch(ignore);
      throw err;
    }
    await this.settled;
  }

  /**
   * The connection of the database's transaction, begun on the first call. `SqlDatabase.transaction`
   * runs a callback; this one's callback holds the transaction open until `commit` or `rollback`.
   */
  private begin(): Promise<SqlClient> {
    if (this.ended) return Promise.reject(new Error('the transaction has already ended'));
    this.opening ??= new Promise<SqlClient>((resolve, reject) => {
      this.settled = this.db.transaction(
        (client) =>
          new Promise<void>((commit, rollback) => {
            this.ending = { commit: () => commit(), rollback };
            resolve(client);
          }),
      );
      // No connection, or BEGIN failed: the query that asked for it fails with that error.
      this.settled.catch(reject);
    });
    return this.opening;
  }
}
