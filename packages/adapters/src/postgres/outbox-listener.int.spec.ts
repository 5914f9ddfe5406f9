import { expect } from 'chai';
import { aPaymentRequest, Boom, eventually, rejectionOf, sleep } from '../contract/index.js';
import { createTestDatabase, type TestDatabase } from '../testing/postgres.js';
import { ordersUnitOfWork, PgOutboxListener } from './index.js';

describe('postgres outbox listener', function () {
  this.timeout(30_000);
  let t: TestDatabase;
  let listener: PgOutboxListener;
  let wakes = 0;
  beforeEach(async () => {
    t = await createTestDatabase('orders');
    wakes = 0;
    listener = new PgOutboxListener(t.url, () => (wakes += 1), { minBackoffMs: 20, maxBackoffMs: 200 });
    await listener.start();
    expect(listener.listening).to.equal(true);
    wakes = 0; // the catch-up wake of the first connect
  });
  afterEach(async () => {
    await listener?.close();
    await t?.drop();
  });

  it('wakes only once the appending transaction commits', async () => {
    const uow = ordersUnitOfWork(t.db);
    await uow.run(async (tx) => {
      await tx.outbox.append(aPaymentRequest());
      await sleep(200);
      expect(wakes).to.equal(0, 'woken before commit');
    });
    await eventually(() => wakes > 0, 5_000, 'a wake-up after commit');
  });

  it('does not wake for a transaction that rolled back', async () => {
    const uow = ordersUnitOfWork(t.db);
    const attempt = uow.run(async (tx) => {
      await tx.outbox.append(aPaymentRequest());
      throw new Boom();
    });
    expect(await rejectionOf(attempt)).to.be.instanceOf(Boom);
    await sleep(300);
    expect(wakes).to.equal(0);
    // The same listener does hear a commit, so the silence above meant something.
    await uow.run((tx) => tx.outbox.append(aPaymentRequest()));
    await eventually(() => wakes > 0, 5_000, 'a wake-up after commit');
  });

  it('reconnects after its connection is killed, and hears commits again', async () => {
    await t.db.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
       WHERE datname = current_database() AND pid <> pg_backend_pid() AND query ILIKE 'LISTEN%'`,
    );
    await eventually(() => wakes > 0 && listener.listening, 5_000, 'the listener to reconnect');
    wakes = 0;
    await ordersUnitOfWork(t.db).run((tx) => tx.outbox.append(aPaymentRequest()));
    await eventually(() => wakes > 0, 5_000, 'a wake-up after reconnecting');
  });

  it('hears nothing once closed', async () => {
    await listener.close();
    await ordersUnitOfWork(t.db).run((tx) => tx.outbox.append(aPaymentRequest()));
    await sleep(300);
    expect(wakes).to.equal(0);
    expect(listener.listening).to.equal(false);
  });
});
