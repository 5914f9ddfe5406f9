import {
  describeDeadLetterStoreContract,
  describeDeliveryCounterContract,
  describeIdempotencyContract,
  describeInboxContract,
  describeOrderStoreContract,
  describeOutboxContract,
  describePaymentStoreContract,
} from '../contract/index.js';
import type { DeadLetterStoreFixture, DeliveryCounterFixture, MessagingTx } from '../contract/index.js';
import {
  migrate,
  ordersUnitOfWork,
  paymentsUnitOfWork,
  PgAccountQueries,
  PgDeadLetterStore,
  PgDeliveryCounter,
  PgOrderQueries,
  PgOutboxStore,
  type Service,
} from '../postgres/index.js';
import { describeMicrosecondPages } from '../postgres/microsecond-pages.spec.helper.js';
import { PgliteDatabase } from './pglite-database.js';

const open = async (service: Service) => {
  const db = await PgliteDatabase.open('memory://');
  await migrate(db, service);
  return db;
};

describeOrderStoreContract('pglite', async () => {
  const db = await open('orders');
  return {
    uow: ordersUnitOfWork(db),
    outbox: new PgOutboxStore(db),
    queries: new PgOrderQueries(db),
    close: () => db.close(),
  };
});
describePaymentStoreContract('pglite', async () => {
  const db = await open('payments');
  return {
    uow: paymentsUnitOfWork(db),
    outbox: new PgOutboxStore(db),
    queries: new PgAccountQueries(db),
    close: () => db.close(),
  };
});
for (const service of ['orders', 'payments'] as const) {
  const store = async (): Promise<DeliveryCounterFixture<MessagingTx> & DeadLetterStoreFixture<MessagingTx>> => {
    const db = await open(service);
    const uow: DeliveryCounterFixture<MessagingTx>['uow'] =
      service === 'orders' ? ordersUnitOfWork(db) : paymentsUnitOfWork(db);
    return {
      uow,
      outbox: new PgOutboxStore(db),
      counter: new PgDeliveryCounter(db),
      counterWithEpisode: (ms: number) => new PgDeliveryCounter(db, ms),
      deadLetters: new PgDeadLetterStore(db),
      close: () => db.close(),
    };
  };
  describeOutboxContract(`pglite ${service}`, store);
  describeInboxContract(`pglite ${service}`, store);
  describeIdempotencyContract(`pglite ${service}`, store);
  describeDeliveryCounterContract(`pglite ${service}`, store);
  describeDeadLetterStoreContract(`pglite ${service}`, store);
}
describeMicrosecondPages('pglite', () => open('orders'));
