import { expect } from 'chai';
import {
  DomainError,
  encodeMessage,
  type CreateAccount,
  type Deposit,
  type GetBalance,
  type GetOrder,
  type ListOrders,
  type OrderView,
  type PlaceOrder,
  type WireMessage,
} from '@gozon/core';
import { aPaymentRequest, rejectionOf, uniqueUser, type Factory } from './fixtures.js';

/** A running orders + payments system, whatever adapters it stands on. */
export interface SystemFixture {
  readonly placeOrder: Pick<PlaceOrder, 'execute'>;
  readonly getOrder: Pick<GetOrder, 'execute'>;
  readonly listOrders: Pick<ListOrders, 'execute'>;
  readonly createAccount: Pick<CreateAccount, 'execute'>;
  readonly deposit: Pick<Deposit, 'execute'>;
  readonly getBalance: Pick<GetBalance, 'execute'>;
  /** Waits until every outbox is published and every queue but the DLQs is drained. */
  settle(): Promise<void>;
  /** From now on the broker delivers every message twice. */
  duplicateEveryMessage(on: boolean): void;
  /** Puts a message straight on a queue. */
  injectRaw(queue: string, message: WireMessage): Promise<void>;
  /** Takes what has reached `<queue>.dlq` so far. */
  deadLetters(queue: string): Promise<WireMessage[]>;
  close(): Promise<void>;
}

/** The whole flow: accounts, deposits, orders, and their payment outcomes, exactly once. */
export const describeFlowContract = (name: string, make: Factory<SystemFixture>): void => {
  describe(`whole flow: ${name}`, function () {
    this.timeout(60_000);
    let system: SystemFixture;
    beforeEach(async () => {
      system = await make();
    });
    afterEach(async () => {
      await system.close();
    });

    const fundedUser = async (amount: number): Promise<string> => {
      const user = uniqueUser();
      await system.createAccount.execute({ userId: user });
      if (amount > 0) await system.deposit.execute({ userId: user, amount });
      return user;
    };
    const statusOf = async (order: OrderView): Promise<OrderView> => system.getOrder.execute(order.id);

    it('pays an order: deposit 2000, order 1500 → FINISHED, balance 500', async () => {
      const user = await fundedUser(2000);
      const order = await system.placeOrder.execute({ userId: user, amount: 1500, description: 'seed' });
      expect(order.status).to.equal('NEW');
      await system.settle();
      expect((await statusOf(order)).status).to.equal('FINISHED');
      expect((await system.getBalance.execute(user)).balance).to.equal(500);
    });

    it('cancels an order over the balance with insufficient_funds and debits nothing', async () => {
      const user = await fundedUser(1000);
      const order = await system.placeOrder.execute({ userId: user, amount: 1001 });
      await system.settle();
      const final = await statusOf(order);
      expect(final.status).to.equal('CANCELLED');
      expect(final.failure_reason).to.equal('insufficient_funds');
      expect((await system.getBalance.execute(user)).balance).to.equal(1000);
    });

    it('cancels an order of a user with no account with account_not_found', async () => {
      const order = await system.placeOrder.execute({ userId: uniqueUser(), amount: 10 });
      await system.settle();
      const final = await statusOf(order);
      expect(final.status).to.equal('CANCELLED');
      expect(final.failure_reason).to.equal('account_not_found');
    });

    it('changes nothing more when every message is delivered twice', async () => {
      system.duplicateEveryMessage(true);
      const user = await fundedUser(2000);
      const orders = [];
      for (const amount of [700, 700, 700]) orders.push(await system.placeOrder.execute({ userId: user, amount }));
      await system.settle();
      const finals = await Promise.all(orders.map(statusOf));
      // Requests may be handled concurrently: which one is refused is open, that one is, is not.
      expect(finals.map((o) => o.status).sort()).to.deep.equal(['CANCELLED', 'FINISHED', 'FINISHED']);
      expect((await system.getBalance.execute(user)).balance).to.equal(600);
    });

    it('never overdraws with 50 concurrent orders against one balance', async () => {
      const user = await fundedUser(2000);
      const orders = await Promise.all(
        Array.from({ length: 50 }, () => system.placeOrder.execute({ userId: user, amount: 100 })),
      );
      await system.settle();
      const finals = await Promise.all(orders.map(statusOf));
      const finished = finals.filter((o) => o.status === 'FINISHED').length;
      expect(finished).to.equal(20);
      expect(
        finals.filter((o) => o.status === 'CANCELLED' && o.failure_reason === 'insufficient_funds'),
      ).to.have.length(30);
      expect((await system.getBalance.execute(user)).balance).to.equal(0);
    });

    it('dead-letters a malformed message and the flow goes on', async () => {
      await system.injectRaw('order.payments', {
        properties: { messageId: `bad-${Date.now()}`, type: 'payment.requested', correlationId: 'x' },
        body: new TextEncoder().encode('this is not json'),
      });
      const user = await fundedUser(500);
      const order = await system.placeOrder.execute({ userId: user, amount: 200 });
      await system.settle();
      expect((await statusOf(order)).status).to.equal('FINISHED');
      const dead = await system.deadLetters('order.payments');
      expect(dead.map((m) => m.properties.messageId)).to.have.length(1);
    });

    it('debits nothing more for a repeated payment request under a new message id', async () => {
      const user = await fundedUser(1000);
      const order = await system.placeOrder.execute({ userId: user, amount: 400 });
      await system.settle();
      const again = aPaymentRequest({ orderId: order.id, userId: user, amount: 400 });
      await system.injectRaw('order.payments', encodeMessage(again.envelope));
      await system.settle();
      expect((await statusOf(order)).status).to.equal('FINISHED');
      expect((await system.getBalance.execute(user)).balance).to.equal(600);
    });

    it('makes one order for a retried Idempotency-Key and refuses the key with another body', async () => {
      const user = await fundedUser(1000);
      const key = `retry-${globalThis.crypto.randomUUID()}`;
      const [first, second] = await Promise.all([
        system.placeOrder.execute({ userId: user, amount: 300, idempotencyKey: key }),
        system.placeOrder.execute({ userId: user, amount: 300, idempotencyKey: key }),
      ]);
      expect(second).to.deep.equal(first);
      const err = await rejectionOf(system.placeOrder.execute({ userId: user, amount: 301, idempotencyKey: key }));
      expect(err).to.be.instanceOf(DomainError).with.property('code', 'idempotency_key_reused');
      await system.settle();
      expect(await system.listOrders.execute(user)).to.have.length(1);
      expect((await system.getBalance.execute(user)).balance).to.equal(700);
    });
  });
};
