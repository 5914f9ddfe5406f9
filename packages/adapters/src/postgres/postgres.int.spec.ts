import {
  describeDeadLetterStoreContract,
  describeDeliveryCounterContract,
  describeIdempotencyContract,
  describeInboxContract,
  describeOrderStoreContract,
  describeOutboxContract,
  describePaymentStoreContract,
} from '../contract/index.js';
import { expect } from 'chai';
import { aPaymentRequest, anOrder } from '../contract/fixtures.js';
import { createTestDatabase } from '../testing/postgres.js';
import {
  ordersUnitOfWork,
  paymentsUnitOfWork,
  PgAccountQueries,
  PgDeadLetterStore,
  PgDeliveryCounter,
  PgOrderQueries,
  PgOutboxStore,
} from './index.js';

const ordersStore = async () => {
  const t = await createTestDatabase('orders');
  return {
    uow: ordersUnitOfWork(t.db),
    outbox: new PgOutboxStore(t.db),
    queries: new PgOrderQueries(t.db),
    counter: new PgDeliveryCounter(t.db),
    counterWithEpisode: (ms: number) => new PgDeliveryCounter(t.db, ms),
    deadLetters: new PgDeadLetterStore(t.db),
    close: t.drop,
  };
};

const paymentsStore = async () => {
  const t = await createTestDatabase('payments');
  return {
    uow: paymentsUnitOfWork(t.db),
    outbox: new PgOutboxStore(t.db),
    queries: new PgAccountQueries(t.db),
    counter: new PgDeliveryCounter(t.db),
    counterWithEpisode: (ms: number) => new PgDeliveryCounter(t.db, ms),
    deadLetters: new PgDeadLetterStore(t.db),
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
describeDeliveryCounterContract('postgres (orders)', ordersStore);
describeDeliveryCounterContract('postgres (payments)', paymentsStore);
describeDeadLetterStoreContract('postgres (orders)', ordersStore);
describeDeadLetterStoreContract('postgres (payments)', paymentsStore);

describe('postgres scrape-time stats (metrics)', () => {
  it('counts unpublished outbox rows and ages the oldest on the database clock; NEW orders likewise', async () => {
    const t = await createTestDatabase('orders');
    try {
      const store = new PgOutboxStore(t.db);
      const queries = new PgOrderQueries(t.db);
      expect(await store.stats()).to.deep.equal({ pending: 0, oldestAgeSeconds: 0 });
      expect(await queries.awaitingOutcome()).to.deep.equal({ count: 0, oldestAgeSeconds: 0 });
      const uow = ordersUnitOfWork(t.db);
      const first = aPaymentRequest();
      const order = anOrder({ now: new Date(Date.now() - 3_000) });
      await uow.run(async (tx) => {
        await tx.orders.save(order);
        await tx.outbox.append(first);
        await tx.outbox.append(aPaymentRequest());
      });
      // Rows created "now" by the database: make the first one look older.
      await t.db.query(`UPDATE outbox SET created_at = now() - interval '5 seconds' WHERE message_id = $1`, [
        first.envelope.id,
      ]);
      const stats = await store.stats();
      expect(stats.pending).to.equal(2);
      expect(stats.oldestAgeSeconds).to.be.within(5, 10);
      const awaiting = await queries.awaitingOutcome();
      expect(awaiting.count).to.equal(1);
      expect(awaiting.oldestAgeSeconds).to.be.within(3, 10);
      await store.markPublished([first.envelope.id]);
      expect((await store.stats()).oldestAgeSeconds).to.be.lessThan(5);
    } finally {
      await t.drop();
    }
  });
});
