import { expect } from 'chai';
import { DomainError } from './errors.js';
import { OrderId, UserId } from './ids.js';
import { MAX_AMOUNT, Money } from './money.js';

describe('Money and ids', () => {
  it('takes amounts from 1 to 1,000,000,000,000 minor units', () => {
    expect(Money.amount(1).minor).to.equal(1);
    expect(Money.amount(MAX_AMOUNT).minor).to.equal(MAX_AMOUNT);
  });

  for (const bad of [0, -1, 1.5, MAX_AMOUNT + 1, '100', null, undefined, Number.NaN, Infinity, 2 ** 60]) {
    it(`refuses ${String(bad)} as an amount, naming the field`, () => {
      expect(() => Money.amount(bad))
        .to.throw(DomainError)
        .with.property('field', 'amount');
    });
  }

  it('adds, subtracts and compares', () => {
    const a = Money.of(700);
    expect(a.add(Money.of(300)).minor).to.equal(1000);
    expect(a.subtract(Money.of(700)).minor).to.equal(0);
    expect(a.covers(Money.of(700))).to.equal(true);
    expect(a.covers(Money.of(701))).to.equal(false);
    expect(() => a.subtract(Money.of(701))).to.throw(RangeError);
  });

  it('checks user ids: 1 to 64 characters from [A-Za-z0-9_.@-]', () => {
    expect(UserId('a.b_c-d@e')).to.equal('a.b_c-d@e');
    expect(UserId('x'.repeat(64))).to.have.length(64);
    for (const bad of ['', 'x'.repeat(65), 'has space', 'ünï', 42, null]) {
      expect(() => UserId(bad)).to.throw(DomainError);
    }
  });

  it('checks order ids are UUIDs and lower-cases them', () => {
    expect(OrderId('7D9F2B1E-9C55-4C43-9B1E-2F1F7C1D0A01')).to.equal('7d9f2b1e-9c55-4c43-9b1e-2f1f7c1d0a01');
    expect(() => OrderId('nope')).to.throw(DomainError);
  });
});
