import { expect } from 'chai';
import { Boom, rejectionOf, type Factory, type MessagingTx, type StoreFixture } from './fixtures.js';

/** Client retry keys: claimed with the effect, replayed afterwards, forgotten on rollback. */
export const describeIdempotencyContract = <Tx extends MessagingTx>(
  name: string,
  make: Factory<StoreFixture<Tx>>,
): void => {
  describe(`idempotency store contract: ${name}`, function () {
    this.timeout(20_000);
    let store: StoreFixture<Tx>;
    before(async () => {
      store = await make();
    });
    after(async () => {
      await store.close();
    });

    const key = (): string => `key-${globalThis.crypto.randomUUID()}`;

    it('claims a new key, then returns the stored response and fingerprint', async () => {
      const k = key();
      // Keys in no sorted order: the answer a retry gets is the first one, byte for byte.
      const response = { user_id: 'u', id: 'x', status: 'NEW', amount: 5, nested: { zz: 1, ok: true } };
      const first = await store.uow.run(async (tx) => {
        const earlier = await tx.idempotency.claim('orders.place', k, 'fp-1');
        await tx.idempotency.complete('orders.place', k, response);
        return earlier;
      });
      expect(first).to.equal(null);
      const second = await store.uow.run((tx) => tx.idempotency.claim('orders.place', k, 'fp-2'));
      expect(second).to.deep.equal({ fingerprint: 'fp-1', response });
      expect(JSON.stringify(second?.response)).to.equal(JSON.stringify(response));
    });

    it('keeps scopes apart', async () => {
      const k = key();
      await store.uow.run(async (tx) => {
        await tx.idempotency.claim('orders.place', k, 'fp');
        await tx.idempotency.complete('orders.place', k, { a: 1 });
      });
      expect(await store.uow.run((tx) => tx.idempotency.claim('payments.deposit', k, 'fp'))).to.equal(null);
    });

    it('forgets a key whose transaction failed', async () => {
      const k = key();
      const attempt = store.uow.run(async (tx) => {
        await tx.idempotency.claim('orders.place', k, 'fp');
        throw new Boom();
      });
      expect(await rejectionOf(attempt)).to.be.instanceOf(Boom);
      expect(await store.uow.run((tx) => tx.idempotency.claim('orders.place', k, 'fp'))).to.equal(null);
    });

    it('lets one of several concurrent claims of a key win; the others see its response', async () => {
      const k = key();
      const results = await Promise.all(
        Array.from({ length: 5 }, (_, i) =>
          store.uow.run(async (tx) => {
            const earlier = await tx.idempotency.claim('orders.place', k, 'fp');
            if (earlier) return earlier;
            await tx.idempotency.complete('orders.place', k, { winner: i });
            return null;
          }),
        ),
      );
      const winners = results.filter((r) => r === null);
      expect(winners).to.have.length(1);
      const responses = new Set(results.filter((r) => r !== null).map((r) => JSON.stringify(r)));
      expect(responses.size).to.equal(1);
    });
  });
};
