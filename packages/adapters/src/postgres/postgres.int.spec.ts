import {
  describeIdempotencyContract,
  describeInboxContract,
  describeOrderStoreContract,
  describeOutboxContract,
  describePaymentStoreContract,
} from '../contract/index.js';
import { createTestDatabase } from '../testing/postgres.js';
import { ordersUnitOfWork, paymentsUnitOfWork, PgAccountQueries, PgOrderQueries, PgOutboxStore } from './index.js';

const ordersStore = async () => {
  const t = await createTestDatabase('orders');
  return {
    uow: ordersUnitOfWork(t.db),
    outbox: new PgOutboxStore(t.db),
    queries: new PgOrderQueries(t.db),
    close: t.drop,
  };
};

const paymentsStore = async () => {
  const t = await createTestDatabase('payments');
  return {
    uow: paymentsUnitOfWork(t.db),
    outbox: new PgOutboxStore(t.db),
    queries: new PgAccountQueries(t.db),
    close: t.drop,
  };
};

describeOrderStoreContract('postgres', ordersStore);
describePaymentStoreContract('postgres', paymentsStore);

// Every service database has its own outbox, inbox and idempotency keys: run them on both.
describeOutboxContract('postgres (orders)', ordersStore);
describeOutboxContract('postgres (payments)', paymentsStore);
describeInboxContract('postgres (orders)', ordersStore);
describeInboxContract('postgres (payments)', paymentsStore);
describeIdempotencyContract('postgres (orders)', ordersStore);
describeIdempotencyContract('postgres (payments)', paymentsStore);
