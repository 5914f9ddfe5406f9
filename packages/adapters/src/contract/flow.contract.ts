import { expect } from 'chai';
import {
  DomainError,
  type CreateAccount,
  type Deposit,
  type GetBalance,
  type GetOrder,
  type ListOrders,
  type OrderView,
  type PlaceOrder,
} from '@gozon/core';
import { encodeMessage, type WireMessage } from '@gozon/messaging';
import { actor, aPaymentRequest, rejectionOf, uniqueUser, type Factory } from './fixtures.js';

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
      await system.createAccount.execute({ caller: actor(user) });
      if (amount > 0) await system.deposit.execute({ caller: actor(user), amount });
      return user;
    };
    const statusOf = async (order: OrderView): Promise<OrderView> =>
      system.getOrder.execute(actor(order.user_id), order.id);

    it('pays an order: deposit 2000, order 1500 → FINISHED, balance 500', async () => {
      const user = await fundedUser(2000);
      const order = await system.placeOrder.execute({ caller: actor(user), amount: 1500, description: 'seed' });
      expect(order.status).to.equal('NEW');
      await system.settle();
      expect((await statusOf(order)).status).to.equal('FINISHED');
      expect((await system.getBalance.execute(actor(user), undefined)).balance).to.equal(500);
    });

    it('cancels an order over the balance with insufficient_funds and debits nothing', async () => {
      const user = await fundedUser(1000);
      const order = await system.placeOrder.execute({ caller: actor(user), amount: 1001 });
      await system.settle();
      const final = await statusOf(order);
      expect(final.status).to.equal('CANCELLED');
      expect(final.failure_reason).to.equal('insufficient_funds');
      expect((await system.getBalance.execute(actor(user), undefined)).balance).to.equal(1000);
    });

    it('cancels an order of a user with no account with account_not_found', async () => {
      const order = await system.placeOrder.execute({ caller: actor(uniqueUser()), amount: 10 });
      await system.settle();
      const final = await statusOf(order);
      expect(final.status).to.equal('CANCELLED');
      expect(final.failure_reason).to.equal('account_not_found');
    });

    it('changes nothing more when every message is delivered twice', async () => {
      system.duplicateEveryMessage(true);
      const user = await fundedUser(2000);
      const orders = [];
      for (const amount of [700, 700, 700])
        orders.push(await system.placeOrder.execute({ caller: actor(user), amount }));
      await system.settle();
      const finals = await Promise.all(orders.map(statusOf));
      // Requests may be handled concurrently: which one is refused is open, that one is, is not.
      expect(finals.map((o) => o.status).sort()).to.deep.equal(['CANCELLED', 'FINISHED', 'FINISHED']);
      expect((await system.getBalance.execute(actor(user), undefined)).balance).to.equal(600);
    });

    it('never overdraws with 50 concurrent orders against one balance', async () => {
      const user = await fundedUser(2000);
      const orders = await Promise.all(
        Array.from({ length: 50 }, () => system.placeOrder.execute({ caller: actor(user), amount: 100 })),
      );
      await system.settle();
      const finals = await Promise.all(orders.map(statusOf));
      const finished = finals.filter((o) => o.status === 'FINISHED').length;
      expect(finished).to.equal(20);
      expect(
        finals.filter((o) => o.status === 'CANCELLED' && o.failure_reason === 'insufficient_funds'),
      ).to.have.length(30);
      expect((await system.getBalance.execute(actor(user), undefined)).balance).to.equal(0);
    });

    it('dead-letters a malformed message and the flow goes on', async () => {
      await system.injectRaw('order.payments', {
        properties: { messageId: `bad-${Date.now()}`, type: 'payment.requested', correlationId: 'x' },
        body: new TextEncoder().encode('this is not json'),
      });
      const user = await fundedUser(500);
      const order = await system.placeOrder.execute({ caller: actor(user), amount: 200 });
      await system.settle();
      expect((await statusOf(order)).status).to.equal('FINISHED');
      const dead = await system.deadLetters('order.payments');
      expect(dead.map((m) => m.properties.messageId)).to.have.length(1);
    });

    it('debits nothing more for a repeated payment request under a new message id', async () => {
      const user = await fundedUser(1000);
      const order = await system.placeOrder.execute({ caller: actor(user), amount: 400 });
      await system.settle();
      const again = aPaymentRequest({ orderId: order.id, userId: user, amount: 400 });
      await system.injectRaw('order.payments', encodeMessage(again.envelope));
      await system.settle();
      expect((await statusOf(order)).status).to.equal('FINISHED');
      expect((await system.getBalance.execute(actor(user), undefined)).balance).to.equal(600);
    });

    it('makes one order for a retried Idempotency-Key and refuses the key with another body', async () => {
      const user = await fundedUser(1000);
      const key = `retry-${globalThis.crypto.randomUUID()}`;
      const [first, second] = await Promise.all([
        system.placeOrder.execute({ caller: actor(user), amount: 300, idempotencyKey: key }),
        system.placeOrder.execute({ caller: actor(user), amount: 300, idempotencyKey: key }),
      ]);
      expect(second).to.deep.equal(first);
      const err = await rejectionOf(
        system.placeOrder.execute({ caller: actor(user), amount: 301, idempotencyKey: key }),
      );
      expect(err).to.be.instanceOf(DomainError).with.property('code', 'idempotency_key_reused');
      await system.settle();
      expect((await system.listOrders.execute(actor(user))).orders).to.have.length(1);
      expect((await system.getBalance.execute(actor(user), undefined)).balance).to.equal(700);
    });

    describe('each user acts only on what is theirs', () => {
      it('refuses to order, deposit, open, list or read a balance for another user, and changes nothing', async () => {
        const alice = await fundedUser(1000);
        const bob = actor(uniqueUser());
        const refusals = [
          system.placeOrder.execute({ caller: bob, userId: alice, amount: 100 }),
          system.deposit.execute({ caller: bob, userId: alice, amount: 100 }),
          system.createAccount.execute({ caller: bob, userId: uniqueUser() }),
          system.listOrders.execute(bob, alice),
          system.getBalance.execute(bob, alice),
        ];
        for (const refusal of refusals) {
          expect(await rejectionOf(refusal))
            .to.be.instanceOf(DomainError)
            .with.property('kind', 'forbidden');
        }
        await system.settle();
        expect((await system.listOrders.execute(actor(alice))).orders).to.have.length(0);
        expect((await system.getBalance.execute(actor(alice), undefined)).balance).to.equal(1000);
      });

      it("pages a user's orders; another user's position still lists only the caller's own", async () => {
        const [alice, bob] = [actor(uniqueUser()), actor(uniqueUser())];
        const bobs = await system.placeOrder.execute({ caller: bob, amount: 7 });
        // Bob's order is older than all of Alice's, so it lies past any position in her list.
        await new Promise((resolve) => setTimeout(resolve, 5));
        for (const amount of [1, 2, 3]) await system.placeOrder.execute({ caller: alice, amount });
        const first = await system.listOrders.execute(alice, undefined, { limit: '2' });
        const rest = await system.listOrders.execute(alice, undefined, { limit: 2, after: first.next });
        const whole = await system.listOrders.execute(alice);
        expect(whole.orders.map((o) => o.amount).sort()).to.deep.equal([1, 2, 3]);
        const ids = (orders: readonly { id: string }[]) => orders.map((o) => o.id);
        expect(ids([...first.orders, ...rest.orders])).to.deep.equal(ids(whole.orders));
        expect(rest).to.not.have.property('next');
        const resumed = await system.listOrders.execute(bob, undefined, { after: first.next });
        expect(ids(resumed.orders)).to.deep.equal([bobs.id]);
        for (const [page, field] of [
          [{ limit: '0' }, 'limit'],
          [{ limit: 201 }, 'limit'],
          [{ after: { createdAt: 'yesterday', id: bobs.id } }, 'cursor'],
        ] as const) {
          expect(await rejectionOf(system.listOrders.execute(alice, undefined, page)))
            .to.be.instanceOf(DomainError)
            .with.property('field', field);
        }
      });

      it("finds no order of another user's by its id, while its owner and an administrator do", async () => {
        const alice = await fundedUser(1000);
        const order = await system.placeOrder.execute({ caller: actor(alice), amount: 100 });
        const err = await rejectionOf(system.getOrder.execute(actor(uniqueUser()), order.id));
        expect(err).to.be.instanceOf(DomainError).with.property('code', 'order_not_found');
        expect((await system.getOrder.execute(actor(alice), order.id)).id).to.equal(order.id);
        expect((await system.getOrder.execute(actor('support', true), order.id)).id).to.equal(order.id);
      });

      it('lets an administrator act for any user', async () => {
        const admin = actor('support', true);
        const user = uniqueUser();
        await system.createAccount.execute({ caller: admin, userId: user });
        await system.deposit.execute({ caller: admin, userId: user, amount: 500 });
        const order = await system.placeOrder.execute({ caller: admin, userId: user, amount: 200 });
        expect(order.user_id).to.equal(user);
        await system.settle();
        expect((await system.listOrders.execute(admin, user)).orders.map((o) => o.status)).to.deep.equal(['FINISHED']);
        expect((await system.getBalance.execute(admin, user)).balance).to.equal(300);
      });

      it("keeps each caller's Idempotency-Keys apart: the same key by two users makes two orders", async () => {
        const [alice, bob] = [await fundedUser(1000), await fundedUser(1000)];
        const key = `shared-${globalThis.crypto.randomUUID()}`;
        const depositA = await system.deposit.execute({ caller: actor(alice), amount: 5, idempotencyKey: key });
        const depositB = await system.deposit.execute({ caller: actor(bob), amount: 7, idempotencyKey: key });
        expect([depositA.balance, depositB.balance]).to.deep.equal([1005, 1007]);
        const a = await system.placeOrder.execute({ caller: actor(alice), amount: 100, idempotencyKey: key });
        const b = await system.placeOrder.execute({ caller: actor(bob), amount: 100, idempotencyKey: key });
        expect(a.id).to.not.equal(b.id);
        expect([a.user_id, b.user_id]).to.deep.equal([alice, bob]);
      });

      it('without identity (caller null) a user must be named, and anyone may be', async () => {
        const err = await rejectionOf(system.placeOrder.execute({ caller: null, amount: 100 }));
        expect(err).to.be.instanceOf(DomainError).with.property('code', 'missing_field');
        const user = await fundedUser(300);
        const order = await system.placeOrder.execute({ caller: null, userId: user, amount: 100 });
        expect((await system.getOrder.execute(null, order.id)).user_id).to.equal(user);
      });
    });
  });
};
