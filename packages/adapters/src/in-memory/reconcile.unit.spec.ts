import { expect } from 'chai';
import {
  ApplyPaymentOutcome,
  FixedClock,
  MessageTypes,
  PlaceOrder,
  randomIds,
  ReconcileOrders,
  defaultReconcilePolicy,
  type OrderView,
} from '@gozon/core';
import { actor, uniqueUser } from '../contract/fixtures.js';
import { InMemoryDatabase } from './database.js';
import { InMemoryUnitOfWork } from './unit-of-work.js';

describe('ReconcileOrders (in-memory)', () => {
  const policy = { ...defaultReconcilePolicy, afterMs: 10_000, maxDelayMs: 60_000, batch: 3, perSweep: 7 };
  let db: InMemoryDatabase;
  let clock: FixedClock;
  let place: PlaceOrder;
  let reconcile: ReconcileOrders;
  beforeEach(() => {
    db = new InMemoryDatabase();
    clock = new FixedClock();
    const uow = new InMemoryUnitOfWork(db);
    place = new PlaceOrder(uow, clock, randomIds, policy);
    reconcile = new ReconcileOrders(uow, clock, randomIds, policy);
  });

  const requestsFor = (orderId: string) =>
    [...db.outbox.values()]
      .map((row) => row.envelope)
      .filter((e) => e.type === MessageTypes.paymentRequested && e.correlationId === orderId);
  const placeOne = (): Promise<OrderView> => place.execute({ caller: actor(uniqueUser()), amount: 700 });
  const asked = async () => (await reconcile.sweep()).map(({ orderId, asks }) => [orderId, asks]);

  it('asks nothing before the delay, then asks again with the same body under a new message id', async () => {
    const order = await placeOne();
    clock.advance(9_999);
    expect(await asked()).to.deep.equal([]);
    clock.advance(1);
    expect(await asked()).to.deep.equal([[order.id, 2]]);
    const [first, again] = requestsFor(order.id);
    expect(again?.payload).to.deep.equal(first?.payload);
    expect(again?.id).to.be.a('string').and.not.equal(first?.id);
    expect(await asked(), 'asked again at once').to.deep.equal([]);
  });

  it('waits twice as long after each ask, up to the longest wait', async () => {
    const order = await placeOne();
    const waits: number[] = [];
    let waited = 0;
    while (waits.length < 5) {
      clock.advance(1_000);
      waited += 1_000;
      if ((await asked()).length > 0) {
        waits.push(waited);
        waited = 0;
      }
    }
    expect(waits).to.deep.equal([10_000, 20_000, 40_000, 60_000, 60_000]);
    expect(requestsFor(order.id)).to.have.length(6);
  });

  it('stops asking once the outcome came', async () => {
    const order = await placeOne();
    clock.advance(10_000);
    await reconcile.sweep();
    const [request] = requestsFor(order.id);
    const settle = new ApplyPaymentOutcome(new InMemoryUnitOfWork(db), clock);
    await settle.execute({ ...request!, id: crypto.randomUUID(), type: MessageTypes.paymentSucceeded });
    clock.advance(3_600_000);
    expect(await asked()).to.deep.equal([]);
    expect(requestsFor(order.id)).to.have.length(2);
  });

  it('asks for at most perSweep orders in one sweep, batch by batch, the longest waiting first', async () => {
    const orders: OrderView[] = [];
    for (let i = 0; i < 9; i += 1) {
      orders.push(await placeOne());
      clock.advance(1);
    }
    clock.advance(10_000);
    expect((await asked()).map(([id]) => id)).to.deep.equal(orders.slice(0, 7).map((o) => o.id));
    expect((await asked()).map(([id]) => id)).to.deep.equal(orders.slice(7).map((o) => o.id));
  });
});
