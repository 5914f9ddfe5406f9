import { expect } from 'chai';
import { Account, DomainError, loadAll, Money, Payment, type Account as AccountT } from '@gozon/core';
import {
  Boom,
  FIXED_NOW,
  newOrderId,
  rejectionOf,
  uniqueUser,
  type Factory,
  type PaymentsStoreFixture,
} from './fixtures.js';

/** Accounts and payments, including the one-debit-per-order and never-below-zero guarantees. */
export const describePaymentStoreContract = (name: string, make: Factory<PaymentsStoreFixture>): void => {
  describe(`payment store contract: ${name}`, function () {
    this.timeout(30_000);
    let store: PaymentsStoreFixture;
    before(async () => {
      store = await make();
    });
    after(async () => {
      await store.close();
    });

    const openWith = async (balance: number): Promise<AccountT> => {
      const account = Account.open(uniqueUser());
      if (balance > 0) account.deposit(Money.amount(balance));
      await store.uow.run((tx) => tx.accounts.add(account));
      return account;
    };

    it('adds an account and reads it back', async () => {
      const account = await openWith(2000);
      const loaded = await store.uow.run((tx) => tx.accounts.get(account.userId));
      expect(loaded?.snapshot()).to.deep.equal({ userId: account.userId, balance: 2000 });
      expect(await store.queries.byUser(account.userId)).to.deep.equal({ userId: account.userId, balance: 2000 });
    });

    it('refuses a second account for the same user with account_exists', async () => {
      const account = await openWith(0);
      const err = await rejectionOf(store.uow.run((tx) => tx.accounts.add(Account.open(account.userId))));
      expect(err).to.be.instanceOf(DomainError).with.property('code', 'account_exists');
    });

    it('returns null for a user with no account', async () => {
      const user = uniqueUser();
      expect(await store.uow.run((tx) => tx.accounts.get(user))).to.equal(null);
      expect(await store.queries.byUser(user)).to.equal(null);
    });

    it('stores one payment per order and refuses a second with payment_exists', async () => {
      const account = await openWith(500);
      const orderId = newOrderId();
      const decide = () =>
        Payment.decide({ orderId, userId: account.userId, amount: Money.amount(100), account, now: FIXED_NOW });
      const first = decide();
      await store.uow.run((tx) => tx.payments.add(first));
      const loaded = await store.uow.run((tx) => tx.payments.get(orderId));
      expect(loaded?.snapshot()).to.deep.equal(first.snapshot());
      const err = await rejectionOf(store.uow.run((tx) => tx.payments.add(decide())));
      expect(err).to.be.instanceOf(DomainError).with.property('code', 'payment_exists');
    });

    it('stores a failed payment with its reason', async () => {
      const orderId = newOrderId();
      const failed = Payment.decide({
        orderId,
        userId: uniqueUser(),
        amount: Money.amount(100),
        account: null,
        now: FIXED_NOW,
      });
      await store.uow.run((tx) => tx.payments.add(failed));
      const loaded = await store.uow.run((tx) => tx.payments.get(orderId));
      expect(loaded?.snapshot().status).to.equal('FAILED');
      expect(loaded?.snapshot().failureReason).to.equal('account_not_found');
    });

    it('loads many accounts and payments at once, leaving out those that do not exist', async () => {
      const [rich, poor] = [await openWith(900), await openWith(5)];
      const nobody = uniqueUser();
      const accounts = await store.uow.run((tx) => loadAll(tx.accounts, [poor.userId, nobody, rich.userId]));
      expect([...accounts.values()].map((a) => a.snapshot()).sort((a, b) => a.balance - b.balance)).to.deep.equal([
        poor.snapshot(),
        rich.snapshot(),
      ]);
      const orderId = newOrderId();
      const payment = Payment.decide({
        orderId,
        userId: rich.userId,
        amount: Money.amount(1),
        account: null,
        now: FIXED_NOW,
      });
      await store.uow.run((tx) => tx.payments.add(payment));
      const payments = await store.uow.run((tx) => loadAll(tx.payments, [newOrderId(), orderId]));
      expect([...payments.keys()]).to.deep.equal([orderId]);
      expect(payments.get(orderId)?.snapshot()).to.deep.equal(payment.snapshot());
    });

    it('writes an account saved twice in one transaction as last saved', async () => {
      const account = await openWith(1000);
      await store.uow.run(async (tx) => {
        const loaded = (await tx.accounts.get(account.userId)) as AccountT;
        loaded.deposit(Money.amount(1));
        await tx.accounts.save(loaded);
        loaded.deposit(Money.amount(10));
        await tx.accounts.save(loaded);
      });
      expect((await store.queries.byUser(account.userId))?.balance).to.equal(1011);
    });

    it('refuses two payments for one order in one transaction, keeping neither', async () => {
      const account = await openWith(500);
      const orderId = newOrderId();
      const decide = () =>
        Payment.decide({ orderId, userId: account.userId, amount: Money.amount(100), account: null, now: FIXED_NOW });
      const err = await rejectionOf(
        store.uow.run(async (tx) => {
          await tx.payments.add(decide());
          await tx.payments.add(decide());
        }),
      );
      expect(err).to.be.instanceOf(DomainError).with.property('code', 'payment_exists');
      expect(await store.uow.run((tx) => tx.payments.get(orderId))).to.equal(null);
    });

    it('rolls back a debit and its payment together', async () => {
      const account = await openWith(1000);
      const orderId = newOrderId();
      const attempt = store.uow.run(async (tx) => {
        const loaded = (await tx.accounts.get(account.userId)) as AccountT;
        const payment = Payment.decide({
          orderId,
          userId: account.userId,
          amount: Money.amount(700),
          account: loaded,
          now: FIXED_NOW,
        });
        await tx.accounts.save(loaded);
        await tx.payments.add(payment);
        throw new Boom();
      });
      expect(await rejectionOf(attempt)).to.be.instanceOf(Boom);
      expect((await store.queries.byUser(account.userId))?.balance).to.equal(1000);
      expect(await store.uow.run((tx) => tx.payments.get(orderId))).to.equal(null);
    });

    it('never overdraws under 50 concurrent debits of one balance', async () => {
      const account = await openWith(1000);
      const debit = async (): Promise<boolean> =>
        store.uow.run(async (tx) => {
          const loaded = (await tx.accounts.get(account.userId)) as AccountT;
          const payment = Payment.decide({
            orderId: newOrderId(),
            userId: account.userId,
            amount: Money.amount(70),
            account: loaded,
            now: FIXED_NOW,
          });
          if (payment.succeeded) await tx.accounts.save(loaded);
          await tx.payments.add(payment);
          return payment.succeeded;
        });
      const results = await Promise.all(Array.from({ length: 50 }, debit));
      const succeeded = results.filter(Boolean).length;
      expect(succeeded).to.equal(14); // floor(1000 / 70)
      expect((await store.queries.byUser(account.userId))?.balance).to.equal(1000 - 14 * 70);
    });
  });
};
