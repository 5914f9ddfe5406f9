import { expect } from 'chai';
import { aPaymentRequest } from '../contract/index.js';
import { createTestDatabase, type TestDatabase } from '../testing/postgres.js';
import { checkRetention, defaultRetention, PgRetention, RetentionConfigError } from './retention.js';
import { ordersUnitOfWork } from './unit-of-work.js';
import { PgDeliveryCounter } from './delivery-counter.js';
import { PgOutboxStore } from './outbox-store.js';

describe('retention of outbox, inbox, idempotency and redelivery rows on postgres', function () {
  this.timeout(30_000);
  let database: TestDatabase;
  before(async () => {
    database = await createTestDatabase('orders');
  });
  after(async () => {
    await database.drop();
  });

  const age = (table: string, column: string, hours: number, where = 'true') =>
    database.db.query(`UPDATE ${table} SET ${column} = now() - make_interval(hours => $1) WHERE ${where}`, [hours]);

  it('removes only rows past their window, in batches, and never an unpublished outbox row', async () => {
    const uow = ordersUnitOfWork(database.db, { outboxChannel: null });
    const store = new PgOutboxStore(database.db);
    await uow.run(async (tx) => {
      for (let i = 0; i < 25; i += 1) await tx.outbox.append(aPaymentRequest());
      for (let i = 0; i < 12; i += 1) await tx.inbox.record('payments', `old-${i}`);
      await tx.inbox.record('payments', 'fresh');
      await tx.idempotency.claim('orders.place', 'old-key', 'fp');
      await tx.idempotency.claim('orders.place', 'fresh-key', 'fp');
    });
    const counter = new PgDeliveryCounter(database.db);
    for (let i = 0; i < 9; i += 1) await counter.count('payments', `old-${i}`);
    await counter.count('payments', 'fresh');
    const claimed = await store.claim(20, 30_000);
    await store.markPublished(claimed.map((c) => c.envelope.id));
    // 20 published long ago, 5 never published but old: those must stay.
    await age('outbox', 'published_at', 24 * 8, 'published_at IS NOT NULL');
    await age('outbox', 'created_at', 24 * 30);
    await age('inbox', 'received_at', 24 * 15, "message_id LIKE 'old-%'");
    await age('idempotency_keys', 'created_at', 49, "key = 'old-key'");
    await age('delivery_attempts', 'last_seen_at', 24 * 15, "message_id LIKE 'old-%'");

    const removed = await new PgRetention(database.db, defaultRetention, 7).sweep();
    expect(removed).to.deep.equal({ outbox: 20, inbox: 12, idempotency_keys: 1, delivery_attempts: 9 });
    expect(await store.pending()).to.equal(5);
    const left = await database.db.query<{ message_id: string }>('SELECT message_id FROM inbox');
    expect(left.rows.map((r) => r.message_id)).to.deep.equal(['fresh']);
    const keys = await database.db.query<{ key: string }>('SELECT key FROM idempotency_keys');
    expect(keys.rows.map((r) => r.key)).to.deep.equal(['fresh-key']);
    const counts = await database.db.query<{ message_id: string }>('SELECT message_id FROM delivery_attempts');
    expect(counts.rows.map((r) => r.message_id)).to.deep.equal(['fresh']);
    expect(await new PgRetention(database.db, defaultRetention).sweep()).to.deep.equal({
      outbox: 0,
      inbox: 0,
      idempotency_keys: 0,
      delivery_attempts: 0,
    });
  });

  it('refuses an inbox window shorter than the replay horizon, and keys kept under 24 hours', () => {
    expect(() => checkRetention({ ...defaultRetention, inboxHours: 24, replayHorizonHours: 48 }))
      .to.throw(RetentionConfigError)
      .with.property('message')
      .that.contains('shorter than the replay horizon');
    expect(() => checkRetention({ ...defaultRetention, idempotencyHours: 12 })).to.throw(
      RetentionConfigError,
      /24 hours/,
    );
    expect(() => checkRetention({ ...defaultRetention, outboxHours: -1 })).to.throw(RetentionConfigError);
    expect(checkRetention(defaultRetention)).to.equal(defaultRetention);
  });
});
