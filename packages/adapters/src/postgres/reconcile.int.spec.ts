import { expect } from 'chai';
import { defaultReconcilePolicy, FixedClock, randomIds, ReconcileOrders, type Order } from '@gozon/core';
import { anOrder } from '../contract/fixtures.js';
import { createTestDatabase, type TestDatabase } from '../testing/postgres.js';
import { ordersUnitOfWork } from './index.js';

describe('ReconcileOrders on Postgres: several instances sweep at once', function () {
  this.timeout(30_000);
  let t: TestDatabase;
  const clock = new FixedClock('2030-01-01T00:00:00.000Z');
  const policy = { ...defaultReconcilePolicy, batch: 25 };
  beforeEach(async () => {
    t = await createTestDatabase('orders');
  });
  afterEach(async () => {
    await t.drop();
  });

  const placeDue = async (count: number): Promise<Order[]> => {
    const orders = Array.from({ length: count }, () => anOrder({ askAgainAt: new Date('2029-12-31T23:59:00Z') }));
    await ordersUnitOfWork(t.db).run(async (tx) => {
      for (const order of orders) await tx.orders.save(order);
    });
    return orders;
  };
  const requestsPerOrder = async (): Promise<Map<string, number>> => {
    const { rows } = await t.db.query(
      `SELECT correlation_id, count(*)::int AS n FROM outbox WHERE type = 'payment.requested' GROUP BY correlation_id`,
    );
    return new Map(rows.map((row) => [row.correlation_id as string, row.n as number]));
  };

  it('asks each due order once when two sweeps race, each on its own connections', async () => {
    const orders = await placeDue(200);
    const sweeper = () => new ReconcileOrders(ordersUnitOfWork(t.db), clock, randomIds, policy);
    const [a, b] = await Promise.all([sweeper().sweep(), sweeper().sweep()]);
    expect(a.length + b.length).to.equal(200);
    expect(a.length, 'both took a share').to.be.above(0);
    expect(b.length, 'both took a share').to.be.above(0);
    const asked = await requestsPerOrder();
    expect(orders.every((o) => asked.get(o.id) === 1)).to.equal(true);
    expect(await sweeper().sweep(), 'none is due again before its next wait').to.deep.equal([]);
  });

  it('skips an order another transaction holds instead of waiting for it', async () => {
    const [held, free] = await placeDue(2);
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    let holding: () => void = () => undefined;
    const isHeld = new Promise<void>((resolve) => (holding = resolve));
    const holder = ordersUnitOfWork(t.db).run(async (tx) => {
      await tx.orders.get(held!.id); // locks it, as a consumer settling it does
      holding();
      await released;
    });
    await isHeld;
    const sweep = await new ReconcileOrders(ordersUnitOfWork(t.db), clock, randomIds, policy).sweep();
    release();
    await holder;
    expect(sweep.map((a) => a.orderId)).to.deep.equal([free!.id]);
  });
});
