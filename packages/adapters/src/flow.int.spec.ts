import { expect } from 'chai';
import { LeasedRelay, type OutboxStore } from '@gozon/messaging';
import { actor, describeFlowContract, eventually, uniqueUser } from './contract/index.js';
import { createRealSystem, type RealSystem } from './testing/real-system.js';

describeFlowContract('postgres + rabbitmq', () => createRealSystem());

describe('exactly-once effects on postgres + rabbitmq', function () {
  this.timeout(60_000);
  let system: RealSystem;
  // The relay alone, as on the embedded bus: every row goes through a relay, so a crashing one can
  // stand in for it.
  beforeEach(async () => {
    system = await createRealSystem({ leaseMs: 300, holdOrdersRelay: true, publishOnCommit: false });
    system.startOrdersRelay();
  });
  afterEach(async () => {
    await system.close();
  });

  it('a relay crash between publish and mark puts a duplicate on the wire but debits once', async () => {
    await system.close();
    system = await createRealSystem({ leaseMs: 300, holdOrdersRelay: true, publishOnCommit: false });
    const user = uniqueUser();
    await system.createAccount.execute({ caller: actor(user) });
    await system.deposit.execute({ caller: actor(user), amount: 1000 });
    // The orders relay of this test publishes, then "crashes" before it marks the rows.
    const crashing: OutboxStore = {
      claim: (limit, lease) => system.ordersOutbox.claim(limit, lease),
      markPublished: async () => {
        throw new Error('crashed before mark');
      },
      markAndClaim: async (published, limit, lease) => {
        if (published.length > 0) throw new Error('crashed before mark');
        return system.ordersOutbox.claim(limit, lease);
      },
      release: async () => undefined,
      pending: () => system.ordersOutbox.pending(),
    };
    const order = await system.placeOrder.execute({ caller: actor(user), amount: 400 });
    const dying = new LeasedRelay(crashing, system.publisher, { batchSize: 10, leaseMs: 300 });
    expect(await dying.execute()).to.equal(1);
    const crashed = await dying.execute().then(
      () => 'marked',
      (err: Error) => err.message,
    );
    expect(crashed).to.equal('crashed before mark');
    // The real relay takes the row again once the lease runs out: the same message, again.
    system.startOrdersRelay();
    await eventually(() => system.deliveries['order.payments']!.length >= 2, 10_000, 'the republished request');
    await system.settle();
    const requests = system.deliveries['order.payments']!;
    expect(new Set(requests).size).to.equal(1);
    expect((await system.getOrder.execute(actor(order.user_id), order.id)).status).to.equal('FINISHED');
    expect((await system.getBalance.execute(actor(user), undefined)).balance).to.equal(600);
  });

  it('a message republished with its messageId is absorbed by the inbox', async () => {
    const user = uniqueUser();
    await system.createAccount.execute({ caller: actor(user) });
    await system.deposit.execute({ caller: actor(user), amount: 1000 });
    system.duplicateEveryMessage(true);
    const orders = await Promise.all(
      [1, 2, 3].map(() => system.placeOrder.execute({ caller: actor(user), amount: 100 })),
    );
    await system.settle();
    const requests = system.deliveries['order.payments']!;
    expect(requests.length).to.be.greaterThanOrEqual(6);
    expect(new Set(requests).size).to.equal(3);
    for (const order of orders)
      expect((await system.getOrder.execute(actor(order.user_id), order.id)).status).to.equal('FINISHED');
    expect((await system.getBalance.execute(actor(user), undefined)).balance).to.equal(700);
  });

  it('rabbitmqctl close_all_connections in the middle of a burst loses nothing and doubles nothing', async () => {
    const user = uniqueUser();
    await system.createAccount.execute({ caller: actor(user) });
    await system.deposit.execute({ caller: actor(user), amount: 10_000 });
    const burst = Array.from({ length: 60 }, (_, i) =>
      system.placeOrder.execute({ caller: actor(user), amount: 100 + (i % 2) }),
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    await system.bed.vhost.dropConnections();
    const orders = await Promise.all(burst);
    await system.settle();
    await new Promise((resolve) => setTimeout(resolve, 300));
    await system.settle();
    const finals = await Promise.all(orders.map((o) => system.getOrder.execute(actor(o.user_id), o.id)));
    expect(finals.filter((o) => o.status === 'NEW')).to.deep.equal([]);
    const finished = finals.filter((o) => o.status === 'FINISHED').reduce((sum, o) => sum + o.amount, 0);
    expect((await system.getBalance.execute(actor(user), undefined)).balance).to.equal(10_000 - finished);
    expect(finished).to.equal(orders.reduce((sum, o) => sum + o.amount, 0));
  });
});
