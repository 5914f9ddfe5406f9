import type { OrdersTx, PaymentsTx, UnitOfWork } from '@gozon/core';
import { PgAccountRepository } from './account-repository.js';
import { PgIdempotencyStore } from './idempotency-store.js';
import { PgInbox } from './inbox.js';
import { DEFAULT_OUTBOX_CHANNEL, PgOutbox } from './outbox.js';
import { PgOrderRepository } from './order-repository.js';
import { PgPaymentRepository } from './payment-repository.js';
import type { SqlClient, SqlDatabase } from './sql.js';

/**
 * A unit of work on one pooled connection from BEGIN to COMMIT or ROLLBACK. `bind` builds a fresh
 * context for each run, with every repository on that run's connection.
 */
export class PgUnitOfWork<Tx> implements UnitOfWork<Tx> {
  constructor(
    private readonly db: SqlDatabase,
    private readonly bind: (client: SqlClient) => Tx,
  ) {}

  run<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    return this.db.transaction((client) => work(this.bind(client)));
  }
}

export interface PgTxOptions {
  /** Where appends are announced; null to rely on polling alone. */
  readonly outboxChannel?: string | null;
}

const channelOf = (options: PgTxOptions): string | null =>
  options.outboxChannel === undefined ? DEFAULT_OUTBOX_CHANNEL : options.outboxChannel;

export const ordersTx =
  (options: PgTxOptions = {}) =>
  (client: SqlClient): OrdersTx => ({
    orders: new PgOrderRepository(client),
    outbox: new PgOutbox(client, channelOf(options)),
    inbox: new PgInbox(client),
    idempotency: new PgIdempotencyStore(client),
  });

export const paymentsTx =
  (options: PgTxOptions = {}) =>
  (client: SqlClient): PaymentsTx => ({
    accounts: new PgAccountRepository(client),
    payments: new PgPaymentRepository(client),
    outbox: new PgOutbox(client, channelOf(options)),
    inbox: new PgInbox(client),
    idempotency: new PgIdempotencyStore(client),
  });

/** The orders service's unit of work on `db`. */
export const ordersUnitOfWork = (db: SqlDatabase, options: PgTxOptions = {}): PgUnitOfWork<OrdersTx> =>
  new PgUnitOfWork(db, ordersTx(options));

/** The payments service's unit of work on `db`. */
export const paymentsUnitOfWork = (db: SqlDatabase, options: PgTxOptions = {}): PgUnitOfWork<PaymentsTx> =>
  new PgUnitOfWork(db, paymentsTx(options));
