import { expect } from 'chai';
import { recordAll } from '@gozon/core';
import { Boom, rejectionOf, type Factory, type MessagingTx, type StoreFixture } from './fixtures.js';

/** The inbox: one row per (consumer, message id), written with the effect or not at all. */
export const describeInboxContract = <Tx extends MessagingTx>(name: string, make: Factory<StoreFixture<Tx>>): void => {
  describe(`inbox contract: ${name}`, function () {
    this.timeout(20_000);
    let store: StoreFixture<Tx>;
    before(async () => {
      store = await make();
    });
    after(async () => {
      await store.close();
    });

    const record = (consumer: string, id: string): Promise<boolean> =>
      store.uow.run((tx) => tx.inbox.record(consumer, id));

    it('records a message once and reports the repeat', async () => {
      const id = globalThis.crypto.randomUUID();
      expect(await record('payments', id)).to.equal(true);
      expect(await record('payments', id)).to.equal(false);
    });

    it('keeps consumers apart', async () => {
      const id = globalThis.crypto.randomUUID();
      expect(await record('payments', id)).to.equal(true);
      expect(await record('orders', id)).to.equal(true);
    });

    it('forgets a message whose transaction failed, so it can be handled again', async () => {
      const id = globalThis.crypto.randomUUID();
      const attempt = store.uow.run(async (tx) => {
        await tx.inbox.record('payments', id);
        throw new Boom();
      });
      expect(await rejectionOf(attempt)).to.be.instanceOf(Boom);
      expect(await record('payments', id)).to.equal(true);
    });

    it('records a batch at once, as one record after another: repeats earlier or within it are refused', async () => {
      const [a, b, c] = [1, 2, 3].map(() => globalThis.crypto.randomUUID()) as [string, string, string];
      expect(await record('payments', b)).to.equal(true);
      const fresh = await store.uow.run((tx) => recordAll(tx.inbox, 'payments', [c, a, b, a]));
      expect(fresh).to.deep.equal([true, true, false, false]);
      expect(await record('payments', c)).to.equal(false);
      expect(await record('orders', c)).to.equal(true);
    });

    it('forgets a batch whose transaction failed', async () => {
      const ids = [1, 2].map(() => globalThis.crypto.randomUUID());
      const attempt = store.uow.run(async (tx) => {
        await recordAll(tx.inbox, 'payments', ids);
        throw new Boom();
      });
      expect(await rejectionOf(attempt)).to.be.instanceOf(Boom);
      expect(await store.uow.run((tx) => recordAll(tx.inbox, 'payments', ids))).to.deep.equal([true, true]);
    });

    it('lets exactly one of many concurrent deliveries of a message through', async () => {
      const id = globalThis.crypto.randomUUID();
      const results = await Promise.all(Array.from({ length: 10 }, () => record('payments', id)));
      expect(results.filter(Boolean)).to.have.length(1);
    });
  });
};
