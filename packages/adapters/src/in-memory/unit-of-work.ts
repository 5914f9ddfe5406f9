import type { OrdersTx, PaymentsTx, UnitOfWork } from '@gozon/core';
import type { InMemoryDatabase } from './database.js';
import { accountsOf, idempotencyOf, inboxOf, ordersOf, outboxOf, paymentsOf, type Guard } from './repositories.js';

/** Both services' transaction contexts: an in-memory database can stand in for either. */
export type InMemoryTx = OrdersTx & PaymentsTx;

/**
 * A unit of work on an in-memory database: its transactions run one at a time and a failed one is
 * undone (see `InMemoryDatabase.transaction`). The repositories it hands out refuse to be used
 * once their transaction has ended, as a Postgres transaction's client does.
 */
export class InMemoryUnitOfWork implements UnitOfWork<InMemoryTx> {
  constructor(private readonly db: InMemoryDatabase) {}

  run<T>(work: (tx: InMemoryTx) => Promise<T>): Promise<T> {
    return this.db.transaction(async () => {
      let open = true;
      const guard: Guard = () => {
        if (!open) throw new Error('transaction already ended');
      };
      try {
        return await work(contextOf(this.db, guard));
      } finally {
        open = false;
      }
    });
  }
}

const contextOf = (db: InMemoryDatabase, guard: Guard): InMemoryTx => ({
  orders: ordersOf(db, guard),
  accounts: accountsOf(db, guard),
  payments: paymentsOf(db, guard),
  outbox: outboxOf(db, guard),
  inbox: inboxOf(db, guard),
  idempotency: idempotencyOf(db, guard),
});
