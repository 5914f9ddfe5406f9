import type { OrdersTx, PaymentsTx, UnitOfWork } from '@gozon/core';
import { PgAccountRepository } from './account-repository.js';
import { PgIdempotencyStore } from './idempotency-store.js';
import { PgInbox } from './inbox.js';
import { announcedAppend, PgOutbox, type OutboxAppend } from './outbox.js';
import { PgOrderRepository } from './order-repository.js';
import { PgPaymentRepository } from './payment-repository.js';
import { BatchedTransaction, type PgTransaction } from './batched-transaction.js';
import type { SqlDatabase } from './sql.js';

/**
 * A unit of work on one pooled connection from BEGIN to COMMIT or ROLLBACK. `bind` builds a fresh
 * context for each run, with every repository on that run's transaction. How few round trips the
 * transaction costs (BEGIN with the first query, writes held back and sent in one statement) is
 * `BatchedTransaction`'s business.
 */
export class PgUnitOfWork<Tx> implements UnitOfWork<Tx> {
  constructor(
    private readonly db: SqlDatabase,
    private readonly bind: (tx: PgTransaction) => Tx,
  ) {}

  async run<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    const transaction = new BatchedTransaction(this.db);
    let result: T;
    try {
      result = await work(this.bind(transaction));
    } catch (err) {
      await transaction.rollback(err);
      throw err;
    }
    await transaction.commit();
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
  (tx: PgTransaction): OrdersTx => ({
    orders: new PgOrderRepository(tx),
    outbox: new PgOutbox(tx, appendOf(options)),
    inbox: new PgInbox(tx),
    idempotency: new PgIdempotencyStore(tx),
  });

export const paymentsTx =
  (options: PgTxOptions = {}) =>
  (tx: PgTransaction): PaymentsTx => ({
    accounts: new PgAccountRepository(tx),
    payments: new PgPaymentRepository(tx),
    outbox: new PgOutbox(tx, appendOf(options)),
    inbox: new PgInbox(tx),
    idempotency: new PgIdempotencyStore(tx),
  });

/** The orders service's unit of work on `db`. */
export const ordersUnitOfWork = (db: SqlDatabase, options: PgTxOptions = {}): PgUnitOfWork<OrdersTx> =>
  new PgUnitOfWork(db, ordersTx(options));

/** The payments service's unit of work on `db`. */
export const paymentsUnitOfWork = (db: SqlDatabase, options: PgTxOptions = {}): PgUnitOfWork<PaymentsTx> =>
  new PgUnitOfWork(db, paymentsTx(options));
