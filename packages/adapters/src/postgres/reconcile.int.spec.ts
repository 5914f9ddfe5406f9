import { expect } from 'chai';
import { defaultReconcilePolicy, FixedClock, randomIds, ReconcileOrders, systemClock, type Order } from '@gozon/core';
import { sweeping } from '../composition/reconcile.js';
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

  const placeDue = async (count: number, askAgainAt = new Date('2029-12-31T23:59:00Z')): Promise<Order[]> => {
    const orders = Array.from({ length: count }, () => anOrder({ askAgainAt }));
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
    const sweeping = new ReconcileOrders(ordersUnitOfWork(t.db), clock, randomIds, policy).sweep();
    const first = await Promise.race([sweeping, new Promise((resolve) => setTimeout(resolve, 3_000, 'waited'))]);
    release();
    await holder;
    const asked = await sweeping;
    expect(first, 'the sweep waited for the held order').to.not.equal('waited');
    expect(asked.map((a) => a.orderId)).to.deep.equal([free!.id]);
  });

  it('with two instances sweeping on their timers, asks each stuck order once per wait', async () => {
    // A wait of 1 s that never grows: each instance sweeps every 0.25 s, so a doubled ask would
    // show as two asks of one order within a sweep of each other.
    const steady = { ...defaultReconcilePolicy, afterMs: 1_000, maxDelayMs: 1_000 };
    const orders = await placeDue(30, new Date(Date.now() - 1_000));
    const instances = [0, 1].map(() =>
      sweeping(new ReconcileOrders(ordersUnitOfWork(t.db), systemClock, randomIds, steady), { policy: steady }),
    );
    await Promise.all(instances.map((i) => i.start()));
    await new Promise((resolve) => setTimeout(resolve, 3_300));
    await Promise.all(instances.map((i) => i.stop()));
    const { rows } = await t.db.query(
      `SELECT correlation_id, array_agg(occurred_at ORDER BY occurred_at) AS at
         FROM outbox WHERE type = 'payment.requested' GROUP BY correlation_id`,
    );
    expect(rows).to.have.length(orders.length);
    for (const row of rows) {
      const at = (row.at as Date[]).map((d) => new Date(d).getTime());
      expect(at.length, 'asks of one order').to.be.within(3, 4);
      for (let i = 1; i < at.length; i += 1) expect(at[i]! - at[i - 1]!, 'between two asks').to.be.at.least(990);
    }
  });
});
