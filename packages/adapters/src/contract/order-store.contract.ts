import { expect } from 'chai';
import { DomainError, loadAll, Order, UserId } from '@gozon/core';
import {
  anOrder,
  aPaymentRequest,
  Boom,
  FIXED_NOW,
  rejectionOf,
  uniqueUser,
  type Factory,
  type OrdersStoreFixture,
} from './fixtures.js';

/** The orders repository and the orders read side. */
export const describeOrderStoreContract = (name: string, make: Factory<OrdersStoreFixture>): void => {
  describe(`order store contract: ${name}`, function () {
    this.timeout(20_000);
    let store: OrdersStoreFixture;
    before(async () => {
      store = await make();
    });
    after(async () => {
      await store.close();
    });

    const saveAll = (orders: Order[]) =>
      store.uow.run(async (tx) => {
        for (const order of orders) await tx.orders.save(order);
      });
    const secondsAfter = (s: number) => new Date(FIXED_NOW.getTime() + s * 1_000);
    /** Ids as a listing must give them: newest first, then by id descending. */
    const newestFirst = (orders: Order[]): string[] =>
      orders
        .map((o) => o.snapshot())
        .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : -1))
        .map((o) => o.id);
    /** The sizes of the pages of `total` orders by `limit`. */
    const sizes = (total: number, limit: number): number[] =>
      Array.from({ length: Math.ceil(total / limit) }, (_, i) => Math.min(limit, total - i * limit));
    /** Every page of `user`'s orders (as ids), following `next` until there is none. */
    const walk = async (user: UserId, limit: number): Promise<string[][]> => {
      const pages: string[][] = [];
      let page = await store.queries.listByUser(user, { limit });
      pages.push(page.orders.map((o) => o.id));
      while (page.next) {
        expect(pages.length, 'pages').to.be.below(100);
        page = await store.queries.listByUser(user, { limit, after: page.next });
        pages.push(page.orders.map((o) => o.id));
      }
      return pages;
    };

    it('saves a new order and reads it back whole', async () => {
      const order = anOrder({ amount: 1234, description: 'naïve café ☕' });
      await store.uow.run((tx) => tx.orders.save(order));
      const loaded = await store.uow.run((tx) => tx.orders.get(order.id));
      expect(loaded?.snapshot()).to.deep.equal(order.snapshot());
      expect(await store.queries.byId(order.id)).to.deep.equal(order.snapshot());
    });

    it('returns null for an order that does not exist', async () => {
      const missing = anOrder();
      expect(await store.uow.run((tx) => tx.orders.get(missing.id))).to.equal(null);
      expect(await store.queries.byId(missing.id)).to.equal(null);
    });

    it('writes a status change and its failure reason', async () => {
      const order = anOrder();
      await store.uow.run((tx) => tx.orders.save(order));
      const later = new Date(FIXED_NOW.getTime() + 1_000);
      await store.uow.run(async (tx) => {
        const loaded = (await tx.orders.get(order.id)) as Order;
        loaded.cancel('insufficient_funds', later);
        await tx.orders.save(loaded);
      });
      const stored = await store.queries.byId(order.id);
      expect(stored?.status).to.equal('CANCELLED');
      expect(stored?.failureReason).to.equal('insufficient_funds');
      expect(stored?.updatedAt.toISOString()).to.equal(later.toISOString());
      expect(stored?.createdAt.toISOString()).to.equal(FIXED_NOW.toISOString());
    });

    it("lists only the user's orders, newest first", async () => {
      const user = uniqueUser();
      const times = [5, 1, 3].map((s) => new Date(FIXED_NOW.getTime() + s * 1_000));
      const orders = times.map((now) => anOrder({ userId: user, now }));
      await saveAll([...orders, anOrder({ userId: uniqueUser() })]);
      const listed = (await store.queries.listByUser(user, { limit: 50 })).orders;
      expect(listed.map((o) => o.createdAt.getTime())).to.deep.equal(
        times.map((t) => t.getTime()).sort((a, b) => b - a),
      );
      expect(listed.every((o) => o.userId === user)).to.equal(true);
      expect(await store.queries.listByUser(UserId('nobody-has-this-user'), { limit: 50 })).to.deep.equal({
        orders: [],
      });
    });

    for (const limit of [1, 2, 50]) {
      it(`walks a user's orders in pages of ${limit}: newest first, each once, the last page without a next`, async () => {
        const user = uniqueUser();
        // Seven orders over four instants, so that pages end inside runs of equal creation times.
        const orders = [0, 0, 1, 1, 1, 2, 3].map((s) => anOrder({ userId: user, now: secondsAfter(s) }));
        await saveAll([...orders, anOrder({ userId: uniqueUser(), now: secondsAfter(2) })]);
        const pages = await walk(user, limit);
        expect(pages.map((p) => p.length)).to.deep.equal(sizes(orders.length, limit));
        expect(pages.flat()).to.deep.equal(newestFirst(orders));
      });
    }

    it('ends with a page of exactly the limit and no next; one order more gives a next', async () => {
      const user = uniqueUser();
      const orders = [1, 2, 3].map((s) => anOrder({ userId: user, now: secondsAfter(s) }));
      await saveAll(orders);
      const whole = await store.queries.listByUser(user, { limit: 3 });
      expect(whole.orders.map((o) => o.id)).to.deep.equal(newestFirst(orders));
      expect(whole).to.not.have.property('next');
      const first = await store.queries.listByUser(user, { limit: 2 });
      expect(first.next?.id).to.equal(first.orders[1]?.id);
      expect(await walk(user, 2)).to.deep.equal([newestFirst(orders).slice(0, 2), newestFirst(orders).slice(2)]);
    });

    it('pages through many orders created in the same millisecond, none skipped or repeated', async () => {
      const user = uniqueUser();
      const orders = Array.from({ length: 25 }, () => anOrder({ userId: user }));
      await saveAll(orders);
      const pages = await walk(user, 4);
      expect(pages.map((p) => p.length)).to.deep.equal(sizes(25, 4));
      expect(pages.flat()).to.deep.equal(newestFirst(orders));
    });

    it('keeps the next page where it was when an order is created between two reads', async () => {
      const user = uniqueUser();
      const orders = [1, 2, 3, 4, 5].map((s) => anOrder({ userId: user, now: secondsAfter(s) }));
      await saveAll(orders);
      const first = await store.queries.listByUser(user, { limit: 2 });
      await saveAll([anOrder({ userId: user, now: secondsAfter(9) }), anOrder({ userId: user, now: secondsAfter(5) })]);
      const second = await store.queries.listByUser(user, { limit: 2, after: first.next! });
      expect([...first.orders, ...second.orders].map((o) => o.id)).to.deep.equal(newestFirst(orders).slice(0, 4));
    });

    it("resumes a position only within the user's own orders", async () => {
      const [alice, bob] = [uniqueUser(), uniqueUser()];
      const alices = [1, 3].map((s) => anOrder({ userId: alice, now: secondsAfter(s) }));
      const bobs = [2, 4].map((s) => anOrder({ userId: bob, now: secondsAfter(s) }));
      await saveAll([...alices, ...bobs]);
      const first = await store.queries.listByUser(alice, { limit: 1 });
      const resumed = await store.queries.listByUser(bob, { limit: 50, after: first.next! });
      expect(resumed.orders.map((o) => o.id)).to.deep.equal([bobs[0]!.id]);
    });

    it('loads many orders at once, leaving out ids that have none', async () => {
      const orders = [anOrder(), anOrder({ amount: 7 })];
      await store.uow.run(async (tx) => {
        for (const order of orders) await tx.orders.save(order);
      });
      const missing = anOrder().id;
      const loaded = await store.uow.run((tx) => loadAll(tx.orders, [orders[1]!.id, missing, orders[0]!.id]));
      expect([...loaded.keys()].sort()).to.deep.equal(orders.map((o) => o.id).sort());
      for (const order of orders) expect(loaded.get(order.id)?.snapshot()).to.deep.equal(order.snapshot());
    });

    it('writes an order saved twice in one transaction as last saved', async () => {
      const order = anOrder();
      await store.uow.run(async (tx) => {
        await tx.orders.save(order);
        order.finish(new Date(FIXED_NOW.getTime() + 1_000));
        await tx.orders.save(order);
      });
      expect((await store.queries.byId(order.id))?.status).to.equal('FINISHED');
    });

    it('keeps neither the order nor its outbox row when the outbox refuses the message', async () => {
      const taken = aPaymentRequest();
      await store.uow.run((tx) => tx.outbox.append(taken));
      const order = anOrder();
      const attempt = store.uow.run(async (tx) => {
        await tx.orders.save(order);
        await tx.outbox.append(aPaymentRequest());
        await tx.outbox.append({
          ...aPaymentRequest(),
          envelope: { ...aPaymentRequest().envelope, id: taken.envelope.id },
        });
      });
      expect(await rejectionOf(attempt))
        .to.be.instanceOf(DomainError)
        .with.property('code', 'message_exists');
      expect(await store.queries.byId(order.id)).to.equal(null);
      expect(await store.outbox.pending()).to.equal(1);
    });

    // The domain refuses such text first (400); this proves the in-memory store fails where
    // Postgres does, so a gap in that validation cannot pass the suites on in-memory alone.
    for (const [what, bad] of [
      ['U+0000', 'nul \u0000 here'],
      ['a lone surrogate', 'half \ud800 a pair'],
    ] as const) {
      it(`refuses to store text with ${what}, and keeps nothing of the transaction`, async () => {
        const order = Order.rehydrate({ ...anOrder().snapshot(), description: bad });
        const attempt = store.uow.run((tx) => tx.orders.save(order));
        const err = await rejectionOf(attempt);
        expect(err).to.be.instanceOf(Error).and.not.be.instanceOf(DomainError);
        expect((err as { code?: unknown }).code).to.match(/^22/, 'a data exception (SQLSTATE class 22)');
        expect(await store.queries.byId(order.id)).to.equal(null);
      });
    }

    it('keeps nothing of a transaction that failed', async () => {
      const order = anOrder();
      const attempt = store.uow.run(async (tx) => {
        await tx.orders.save(order);
        throw new Boom();
      });
      expect(await rejectionOf(attempt)).to.be.instanceOf(Boom);
      expect(await store.queries.byId(order.id)).to.equal(null);
    });

    it('undoes an update when the transaction fails after it', async () => {
      const order = anOrder();
      await store.uow.run((tx) => tx.orders.save(order));
      const attempt = store.uow.run(async (tx) => {
        const loaded = (await tx.orders.get(order.id)) as Order;
        loaded.finish(FIXED_NOW);
        await tx.orders.save(loaded);
        throw new Boom();
      });
      expect(await rejectionOf(attempt)).to.be.instanceOf(Boom);
      expect((await store.queries.byId(order.id))?.status).to.equal('NEW');
    });
    describe('orders due to ask for their payment again', () => {
      // Long before any other test's orders, so only this describe's orders are ever due.
      const epoch = new Date('1990-01-01T00:00:00.000Z');
      const at = (s: number) => new Date(epoch.getTime() + s * 1_000);
      const dueIds = (now: Date, limit = 100) =>
        store.uow.run(async (tx) => (await tx.orders.dueToAskAgain(now, limit)).map((o) => o.id));

      it('are the NEW ones whose time has come, the earliest first, at most limit', async () => {
        const [late, early, future] = [anOrder({ askAgainAt: at(20) }), anOrder({ askAgainAt: at(10) }), anOrder()];
        const settled = anOrder({ askAgainAt: at(5) });
        settled.finish(FIXED_NOW);
        await saveAll([late, early, future, settled]);
        expect(await dueIds(at(9))).to.deep.equal([]);
        expect(await dueIds(at(20))).to.deep.equal([early.id, late.id]);
        expect(await dueIds(at(20), 1)).to.deep.equal([early.id]);
        expect((await store.queries.byId(settled.id))?.askAgainAt).to.equal(null);
      });

      it('keeps how many times an order asked and when it asks next', async () => {
        const order = anOrder({ askAgainAt: at(30) });
        await saveAll([order]);
        await store.uow.run(async (tx) => {
          const due = (await tx.orders.dueToAskAgain(at(30), 100)).find((o) => o.id === order.id);
          expect(due?.askPaymentAgain(at(90))).to.equal(true);
          await tx.orders.save(due!);
        });
        expect(await store.queries.byId(order.id)).to.deep.include({ paymentAsks: 2, askAgainAt: at(90) });
        expect(await dueIds(at(89))).to.not.include(order.id);
        expect(await dueIds(at(90))).to.include(order.id);
        await store.uow.run(async (tx) => {
          const loaded = (await tx.orders.get(order.id)) as Order;
          loaded.cancel('account_not_found', FIXED_NOW);
          await tx.orders.save(loaded);
        });
        expect(await dueIds(at(10_000))).to.not.include(order.id);
      });
    });
  });
};
