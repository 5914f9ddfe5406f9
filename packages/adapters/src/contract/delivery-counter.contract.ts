import type { DeliveryCounter } from '@gozon/messaging';
import { expect } from 'chai';
import { Boom, rejectionOf, type Factory, type MessagingTx, type StoreFixture } from './fixtures.js';

/** A service database with its redelivery counter. */
export interface DeliveryCounterFixture<Tx extends MessagingTx> extends StoreFixture<Tx> {
  readonly counter: DeliveryCounter;
  /** A counter on the same database whose episode lasts `episodeMs`. */
  counterWithEpisode(episodeMs: number): DeliveryCounter;
}

/** Redelivery counts: one per (consumer, message id), each count durable on its own at once. */
export const describeDeliveryCounterContract = <Tx extends MessagingTx>(
  name: string,
  make: Factory<DeliveryCounterFixture<Tx>>,
): void => {
  describe(`delivery counter contract: ${name}`, function () {
    this.timeout(20_000);
    let store: DeliveryCounterFixture<Tx>;
    before(async () => {
      store = await make();
    });
    after(async () => {
      await store.close();
    });

    const id = (): string => globalThis.crypto.randomUUID();

    it('counts a message from 1, one more each time', async () => {
      const m = id();
      expect(await store.counter.count('order.payments', m)).to.equal(1);
      expect(await store.counter.count('order.payments', m)).to.equal(2);
      expect(await store.counter.count('order.payments', m)).to.equal(3);
    });

    it('keeps consumers and messages apart', async () => {
      const m = id();
      await store.counter.count('order.payments', m);
      await store.counter.count('order.payments', m);
      expect(await store.counter.count('payment.status', m)).to.equal(1);
      expect(await store.counter.count('order.payments', id())).to.equal(1);
    });

    it('gives each of many concurrent counts of a message its own number', async () => {
      const m = id();
      const counts = await Promise.all(Array.from({ length: 10 }, () => store.counter.count('order.payments', m)));
      expect([...counts].sort((a, b) => a - b)).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    });

    it('takes a count back, never below 0, and counts on from there', async () => {
      const m = id();
      await store.counter.takeBack('order.payments', m);
      expect(await store.counter.count('order.payments', m)).to.equal(1);
      expect(await store.counter.count('order.payments', m)).to.equal(2);
      await store.counter.takeBack('order.payments', m);
      expect(await store.counter.count('order.payments', m)).to.equal(2);
      await store.counter.takeBack('order.payments', m);
      await store.counter.takeBack('order.payments', m);
      await store.counter.takeBack('order.payments', m);
      expect(await store.counter.count('order.payments', m)).to.equal(1);
      expect(await store.counter.count('payment.status', m)).to.equal(1);
    });

    it('starts a count over once the message was not seen for longer than an episode', async () => {
      const m = id();
      const counter = store.counterWithEpisode(400);
      expect(await counter.count('order.payments', m)).to.equal(1);
      expect(await counter.count('order.payments', m)).to.equal(2);
      await new Promise((resolve) => setTimeout(resolve, 700));
      expect(await counter.count('order.payments', m)).to.equal(1);
      expect(await counter.count('order.payments', m)).to.equal(2);
    });

    it('keeps a count taken while an effect transaction runs, though that transaction rolls back', async () => {
      const m = id();
      let counted: Promise<number> | undefined;
      const effect = store.uow.run(async (tx) => {
        await tx.inbox.record('order.payments', m);
        // Not awaited here: a one-connection database (PGlite) takes it after this transaction.
        counted = store.counter.count('order.payments', m);
        throw new Boom();
      });
      expect(await rejectionOf(effect)).to.be.instanceOf(Boom);
      expect(await counted).to.equal(1);
      expect(await store.counter.count('order.payments', m)).to.equal(2);
      // The effect itself was undone: its inbox row is gone.
      expect(await store.uow.run((tx) => tx.inbox.record('order.payments', m))).to.equal(true);
    });
  });
};
