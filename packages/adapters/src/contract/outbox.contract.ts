import { expect } from 'chai';
import {
  aPaymentRequest,
  Boom,
  rejectionOf,
  sleep,
  type Factory,
  type MessagingTx,
  type StoreFixture,
} from './fixtures.js';

/**
 * The outbox: appended in a transaction, visible to relays only after commit, leased to one relay
 * at a time, and never handed out again once marked published.
 */
export const describeOutboxContract = <Tx extends MessagingTx>(name: string, make: Factory<StoreFixture<Tx>>): void => {
  describe(`outbox contract: ${name}`, function () {
    this.timeout(20_000);
    let store: StoreFixture<Tx>;
    beforeEach(async () => {
      store = await make();
    });
    afterEach(async () => {
      await store.close();
    });

    it('hands out committed messages whole, oldest first', async () => {
      const messages = [aPaymentRequest(), aPaymentRequest(), aPaymentRequest()];
      await store.uow.run(async (tx) => {
        for (const message of messages) await tx.outbox.append(message);
      });
      expect(await store.outbox.pending()).to.equal(3);
      const claimed = await store.outbox.claim(10, 30_000);
      expect(claimed.map((c) => ({ routingKey: c.routingKey, envelope: c.envelope }))).to.deep.equal(messages);
      expect(claimed.map((c) => c.attempts)).to.deep.equal([0, 0, 0]);
      const positions = claimed.map((c) => c.position);
      expect(positions).to.deep.equal([...positions].sort((a, b) => a - b));
    });

    it('keeps nothing appended by a transaction that failed', async () => {
      const attempt = store.uow.run(async (tx) => {
        await tx.outbox.append(aPaymentRequest());
        throw new Boom();
      });
      expect(await rejectionOf(attempt)).to.be.instanceOf(Boom);
      expect(await store.outbox.pending()).to.equal(0);
      expect(await store.outbox.claim(10, 30_000)).to.deep.equal([]);
    });

    it('claims at most the batch size, and leased rows go to no other relay', async () => {
      await store.uow.run(async (tx) => {
        for (let i = 0; i < 5; i += 1) await tx.outbox.append(aPaymentRequest());
      });
      const [first, second, third] = await Promise.all([
        store.outbox.claim(2, 30_000),
        store.outbox.claim(2, 30_000),
        store.outbox.claim(2, 30_000),
      ]);
      const ids = [...(first ?? []), ...(second ?? []), ...(third ?? [])].map((c) => c.envelope.id);
      expect(ids).to.have.length(5);
      expect(new Set(ids).size).to.equal(5);
      expect(await store.outbox.claim(10, 30_000)).to.deep.equal([]);
    });

    it('never hands out a published message again', async () => {
      await store.uow.run((tx) => tx.outbox.append(aPaymentRequest()));
      const [claimed] = await store.outbox.claim(10, 50);
      await store.outbox.markPublished([claimed!.envelope.id]);
      expect(await store.outbox.pending()).to.equal(0);
      await sleep(120);
      expect(await store.outbox.claim(10, 50)).to.deep.equal([]);
    });

    it('marks confirmed rows and claims the next in one go, never handing the marked ones out again', async () => {
      const messages = [aPaymentRequest(), aPaymentRequest(), aPaymentRequest()];
      await store.uow.run(async (tx) => {
        for (const message of messages) await tx.outbox.append(message);
      });
      const first = await store.outbox.claim(2, 50);
      // The publish outlasted the lease: the rows being marked are free to claim, and must not be.
      await sleep(120);
      const next = await store.outbox.markAndClaim(
        first.map((c) => c.envelope.id),
        10,
        30_000,
      );
      expect(next.map((c) => c.envelope.id)).to.deep.equal([messages[2]!.envelope.id]);
      expect(await store.outbox.pending()).to.equal(1);
      expect(await store.outbox.markAndClaim([messages[2]!.envelope.id], 10, 30_000)).to.deep.equal([]);
      expect(await store.outbox.pending()).to.equal(0);
    });

    it('hands a message out again when its lease runs out (a relay died mid-batch)', async () => {
      const message = aPaymentRequest();
      await store.uow.run((tx) => tx.outbox.append(message));
      expect(await store.outbox.claim(10, 100)).to.have.length(1);
      expect(await store.outbox.claim(10, 100)).to.deep.equal([]);
      await sleep(250);
      const again = await store.outbox.claim(10, 30_000);
      expect(again.map((c) => c.envelope.id)).to.deep.equal([message.envelope.id]);
      expect(again[0]?.attempts).to.equal(1);
    });

    it('hands a released message out again at once', async () => {
      await store.uow.run((tx) => tx.outbox.append(aPaymentRequest()));
      const claimed = await store.outbox.claim(10, 30_000);
      await store.outbox.release(claimed.map((c) => c.envelope.id));
      expect(await store.outbox.claim(10, 30_000)).to.have.length(1);
    });
  });
};
