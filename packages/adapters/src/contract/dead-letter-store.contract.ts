import type { DeadLetter, DeadLetterStore, StoredDeadLetter, WireMessage } from '@gozon/messaging';
import { encodeMessage } from '@gozon/messaging';
import { expect } from 'chai';
import { aPaymentRequest, Boom, rejectionOf, type Factory, type MessagingTx, type StoreFixture } from './fixtures.js';

/** A service database with its dead-letter store. */
export interface DeadLetterStoreFixture<Tx extends MessagingTx> extends StoreFixture<Tx> {
  readonly deadLetters: DeadLetterStore;
}

const aLetter = (overrides: Partial<DeadLetter> = {}): DeadLetter => ({
  queue: 'order.payments',
  message: encodeMessage(aPaymentRequest().envelope),
  reason: 'gave up after 5 attempts: a bug',
  ...overrides,
});

const idOf = (letter: DeadLetter): string | undefined => letter.message.properties.messageId;

/** Dead letters: each kept whole and at once, listed oldest first, removed one by one. */
export const describeDeadLetterStoreContract = <Tx extends MessagingTx>(
  name: string,
  make: Factory<DeadLetterStoreFixture<Tx>>,
): void => {
  describe(`dead-letter store contract: ${name}`, function () {
    this.timeout(20_000);
    let store: DeadLetterStoreFixture<Tx>;
    before(async () => {
      store = await make();
    });
    after(async () => {
      await store.close();
    });

    /** The letters kept of these messages (the store is shared by the tests of a suite). */
    const kept = async (...letters: DeadLetter[]): Promise<StoredDeadLetter[]> => {
      const ids = letters.map(idOf);
      return (await store.deadLetters.list()).filter((l) => ids.includes(idOf(l)));
    };

    it('keeps the whole message, its queue and the reason, and lists it', async () => {
      const letter = aLetter({ queue: 'payment.status', reason: 'dead-lettered as poison after 6 redeliveries' });
      await store.deadLetters.add(letter);
      const [found, ...more] = await kept(letter);
      expect(more).to.deep.equal([]);
      expect(found).to.deep.include({ queue: letter.queue, reason: letter.reason });
      expect(found?.message.properties).to.deep.equal(letter.message.properties);
      expect(found?.message.body).to.deep.equal(letter.message.body);
      expect(found?.id).to.be.a('string');
      expect(Date.now() - (found?.deadLetteredAt.getTime() ?? 0)).to.be.within(-60_000, 60_000);
    });

    it('keeps what a malformed message carried exactly, and a reason it cannot store as readable text', async () => {
      const message: WireMessage = {
        properties: {
          messageId: `bad\u0000id-${globalThis.crypto.randomUUID()}`,
          type: 'payment.requested',
          headers: { 'x-odd': 'lone \ud800 surrogate', 'x-count': 3 },
        },
        body: new Uint8Array([0xff, 0xfe, 0x00, 0x7b]),
      };
      const letter = aLetter({ message, reason: 'malformed: \u0000 and \udc00' });
      await store.deadLetters.add(letter);
      const [found] = await kept(letter);
      expect(found?.message.properties).to.deep.equal(message.properties);
      expect(found?.message.body).to.deep.equal(message.body);
      expect(found?.reason).to.equal('malformed: \ufffd and \ufffd');
    });

    it('keeps a message dead-lettered twice as two letters, removed one at a time', async () => {
      const letter = aLetter();
      await store.deadLetters.add(letter);
      await store.deadLetters.add({ ...letter, reason: 'again' });
      const both = await kept(letter);
      expect(both.map((l) => l.reason)).to.deep.equal([letter.reason, 'again']);
      const [first, second] = both;
      expect(await store.deadLetters.remove(first?.id ?? '')).to.equal(true);
      expect(await store.deadLetters.remove(first?.id ?? '')).to.equal(false);
      expect((await kept(letter)).map((l) => l.id)).to.deep.equal([second?.id]);
      expect(await store.deadLetters.remove(second?.id ?? '')).to.equal(true);
      expect(await kept(letter)).to.deep.equal([]);
    });

    it('answers false for an id it never gave out', async () => {
      expect(await store.deadLetters.remove('987654321')).to.equal(false);
      expect(await store.deadLetters.remove('not-an-id')).to.equal(false);
    });

    it('lists oldest first, and keeps every one of many added at once', async () => {
      const letters = Array.from({ length: 10 }, () => aLetter());
      await store.deadLetters.add(letters[0] as DeadLetter);
      await Promise.all(letters.slice(1).map((l) => store.deadLetters.add(l)));
      const found = await kept(...letters);
      expect(found).to.have.length(10);
      expect(idOf(found[0] as DeadLetter)).to.equal(idOf(letters[0] as DeadLetter));
    });

    it('keeps a letter added while an effect transaction runs, though that transaction rolls back', async () => {
      const letter = aLetter();
      let added: Promise<void> | undefined;
      const effect = store.uow.run(async (tx) => {
        await tx.inbox.record(letter.queue, idOf(letter) ?? '');
        // Not awaited here: a one-connection database (PGlite) takes it after this transaction.
        added = store.deadLetters.add(letter);
        throw new Boom();
      });
      expect(await rejectionOf(effect)).to.be.instanceOf(Boom);
      await added;
      expect(await kept(letter)).to.have.length(1);
    });
  });
};
