import { expect } from 'chai';
import { DomainError } from '../shared/errors.js';
import { OrderId, UserId } from '../shared/ids.js';
import { Money } from '../shared/money.js';
import { Payment } from './payment.js';
import { Account } from '../accounts/account.js';
import { paymentMessages } from './payment-messages.js';

const now = new Date('2026-01-01T00:00:00.000Z');
const orderId = OrderId('7d9f2b1e-9c55-4c43-9b1e-2f1f7c1d0a01');

describe('Account and Payment', () => {
  it('opens at zero and takes deposits', () => {
    const account = Account.open(UserId('u1'));
    account.deposit(Money.amount(2000));
    expect(account.snapshot()).to.deep.equal({ userId: 'u1', balance: 2000 });
  });

  it('refuses a deposit that would take the balance past the largest safe integer', () => {
    const account = Account.rehydrate({ userId: UserId('u1'), balance: Number.MAX_SAFE_INTEGER - 10 });
    account.deposit(Money.amount(10));
    expect(() => account.deposit(Money.amount(1)))
      .to.throw(DomainError)
      .with.property('code', 'balance_too_large');
    expect(account.balance.minor).to.equal(Number.MAX_SAFE_INTEGER);
  });

  it('debits down to exactly zero and refuses to go below', () => {
    const account = Account.rehydrate({ userId: UserId('u1'), balance: 500 });
    account.debit(Money.amount(500));
    expect(account.balance.minor).to.equal(0);
    expect(() => account.debit(Money.amount(1)))
      .to.throw(DomainError)
      .with.property('code', 'insufficient_funds');
    expect(account.balance.minor).to.equal(0);
  });

  it('decides a payment: success debits the account by the amount', () => {
    const account = Account.rehydrate({ userId: UserId('u1'), balance: 2000 });
    const payment = Payment.decide({ orderId, userId: UserId('u1'), amount: Money.amount(1500), account, now });
    expect(payment.succeeded).to.equal(true);
    expect(payment.snapshot()).to.include({ status: 'SUCCEEDED', failureReason: null, amount: 1500 });
    expect(account.balance.minor).to.equal(500);
  });

  it('decides a payment: too little money fails and debits nothing', () => {
    const account = Account.rehydrate({ userId: UserId('u1'), balance: 100 });
    const payment = Payment.decide({ orderId, userId: UserId('u1'), amount: Money.amount(101), account, now });
    expect(payment.snapshot()).to.include({ status: 'FAILED', failureReason: 'insufficient_funds' });
    expect(account.balance.minor).to.equal(100);
  });

  it('decides a payment: no account fails with account_not_found', () => {
    const payment = Payment.decide({ orderId, userId: UserId('u1'), amount: Money.amount(1), account: null, now });
    expect(payment.snapshot()).to.include({ status: 'FAILED', failureReason: 'account_not_found' });
  });

  it('records its decision, and records it again when told once more, debiting nothing more', () => {
    const account = Account.rehydrate({ userId: UserId('u1'), balance: 2000 });
    const payment = Payment.decide({ orderId, userId: UserId('u1'), amount: Money.amount(1500), account, now });
    const decided = { type: 'PaymentSucceeded', orderId, userId: 'u1', amount: 1500 };
    expect(payment.pullEvents()).to.deep.equal([decided]);
    expect(payment.pullEvents()).to.deep.equal([]);
    expect(Payment.rehydrate(payment.snapshot()).tell().pullEvents()).to.deep.equal([decided]);
    expect(account.balance.minor).to.equal(500);
  });

  it('tells a decision as payment.succeeded or payment.failed, with the contract’s fields in order', () => {
    const failed = Payment.decide({ orderId, userId: UserId('u1'), amount: Money.amount(5), account: null, now });
    const succeeded = Payment.decide({
      orderId,
      userId: UserId('u1'),
      amount: Money.amount(5),
      account: Account.rehydrate({ userId: UserId('u1'), balance: 5 }),
      now,
    });
    const messages = paymentMessages([...failed.pullEvents(), ...succeeded.pullEvents()]);
    expect(messages.map(({ type, body }) => `${type} ${JSON.stringify(body)}`)).to.deep.equal([
      `payment.failed {"order_id":"${orderId}","user_id":"u1","amount":5,"reason":"account_not_found"}`,
      `payment.succeeded {"order_id":"${orderId}","user_id":"u1","amount":5}`,
    ]);
  });
});
