import type { OrdersTx, PaymentsTx, UnitOfWork } from '@gozon/core';
import { PgAccountRepository } from './account-repository.js';
import { PgIdempotencyStore } from './idempotency-store.js';
import { PgInbox } from './inbox.js';
import { announcedAppend, PgOutbox, type OutboxAppend } from './outbox.js';
import { PgOrderRepository } from './order-repository.js';
import { PgPaymentRepository } from './payment-repository.js';
import { PendingWrites } from './pending-writes.js';
import type { SqlClient, SqlDatabase } from './sql.js';

/**
 * A unit of work on one pooled connection from BEGIN to COMMIT or ROLLBACK. `bind` builds a fresh
 * context for each run, with every repository on that run's connection and its pending writes.
 *
 * Writes that need no answer are held back (`PendingWrites`) and sent as one statement with the
 * next query or the COMMIT. The transaction itself begins with the first query: a unit of work
 * that only writes (placing an order) is one statement in a transaction of its own, one round
 * trip instead of four. On a database that pipelines (`PgDatabase`), one that reads first sends
 * BEGIN with its first reads, then its writes with the COMMIT: two round trips.
 */
export class PgUnitOfWork<Tx> implements UnitOfWork<Tx> {
  constructor(
    private readonly db: SqlDatabase,
    private readonly bind: (client: SqlClient, writes: PendingWrites) => Tx,
  ) {}

  async run<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    const writes = new PendingWrites();
    let ended = false;
    let opening: Promise<SqlClient> | undefined;
    let settled: Promise<void> = Promise.resolve();
    let finish: { commit: () => void; rollback: (err: unknown) => void } | undefined;
    const open = (): Promise<SqlClient> =>
      (opening ??= new Promise<SqlClient>((resolve, reject) => {
        settled = this.db.transaction(
          (client) =>
            new Promise<void>((commit, rollback) => {
              finish = { commit: () => commit(), rollback };
              resolve(client);
            }),
        );
        // No connection, or BEGIN failed: the query that asked for it fails with that error.
        settled.catch(reject);
      }));
    const lazy: SqlClient = {
      query: async <R>(text: string, params?: readonly unknown[]) => {
        if (ended) throw new Error('the transaction has already ended');
        const client = await open();
        // The held-back writes and the query go out together; a failed write is the error to
        // report (the query behind it then fails only because the transaction has).
        const flushed = writes.flush(client);
        const answer = client.query<R>(text, params);
        try {
          await flushed;
        } catch (err) {
          answer.catch(() => undefined);
          throw err;
        }
        return answer;
      },
      exec: async (script) => {
        if (ended) throw new Error('the transaction has already ended');
        const client = await open();
        await writes.flush(client);
        await client.exec(script);
      },
    };
    const abandon = async (err: unknown): Promise<never> => {
      ended = true;
      if (opening) {
        // A query may have asked for the transaction without waiting for it: let it begin, then roll back.
        await opening.catch(() => undefined);
        finish?.rollback(err);
        await settled.catch(() => undefined);
      }
      throw err;
    };
    let result: T;
    try {
      result = await work(this.bind(lazy, writes));
    } catch (err) {
      return abandon(err);
    }
    if (!opening) {
      // Nothing read: the writes are one statement, atomic in a transaction of its own.
      ended = true;
      await writes.flush(this.db);
      writes.committed();
      return result;
    }
    let client: SqlClient;
    try {
      client = await open();
    } catch (err) {
      return abandon(err);
    }
    // The last writes and the COMMIT go out together. If the writes fail, the transaction is
    // aborted and its COMMIT rolls it back; the writes' error is the one to report.
    const flushed = writes.flush(client);
    flushed.catch(() => undefined);
    ended = true;
    finish?.commit();
    try {
      await flushed;
    } catch (err) {
      await settled.catch(() => undefined);
      throw err;
    }
    await settled;
    writes.committed();
    return result;
  }
}

export interface PgTxOptions {
  /** Where appends are announced; null to rely on polling alone. */
  readonly outboxChannel?: string | null;
  /** How appended messages are written and handed on (default: announced on `outboxChannel`). */
  readonly append?: OutboxAppend;
}

const appendOf = (options: PgTxOptions): OutboxAppend => options.append ?? announcedAppend(options.outboxChannel);

export const ordersTx =
  (options: PgTxOptions = {}) =>
  (client: SqlClient, writes?: PendingWrites): OrdersTx => ({
    orders: new PgOrderRepository(client, writes),
    outbox: new PgOutbox(client, appendOf(options), writes),
    inbox: new PgInbox(client),
    idempotency: new PgIdempotencyStore(client),
  });

export const paymentsTx =
  (options: PgTxOptions = {}) =>
  (client: SqlClient, writes?: PendingWrites): PaymentsTx => ({
    accounts: new PgAccountRepository(client, writes),
    payments: new PgPaymentRepository(client, writes),
    outbox: new PgOutbox(client, appendOf(options), writes),
    inbox: new PgInbox(client),
    idempotency: new PgIdempotencyStore(client),
  });

/** The orders service's unit of work on `db`. */
export const ordersUnitOfWork = (db: SqlDatabase, options: PgTxOptions = {}): PgUnitOfWork<OrdersTx> =>
  new PgUnitOfWork(db, ordersTx(options));

/** The payments service's unit of work on `db`. */
export const paymentsUnitOfWork = (db: SqlDatabase, options: PgTxOptions = {}): PgUnitOfWork<PaymentsTx> =>
  new PgUnitOfWork(db, paymentsTx(options));
