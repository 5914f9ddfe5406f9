import { expect } from 'chai';
import { formatMinor, MAX_MINOR, parseAmount } from '../public/money.js';

const minor = (text) => {
  const result = parseAmount(text);
  expect(result, `parseAmount(${JSON.stringify(text)})`).to.have.property('ok', true);
  return result.minor;
};

const refusal = (text) => {
  const result = parseAmount(text);
  expect(result, `parseAmount(${JSON.stringify(text)})`).to.have.property('ok', false);
  return result.message;
};

describe('money: parsing what a person types', () => {
  it('reads major units as exact integer minor units', () => {
    expect(minor('15')).to.equal(1500);
    expect(minor('15.00')).to.equal(1500);
    expect(minor('15.5')).to.equal(1550);
    expect(minor('19.99')).to.equal(1999);
    expect(minor('0.01')).to.equal(1);
    expect(minor(' 7 ')).to.equal(700);
    expect(minor('007.10')).to.equal(710);
    expect(minor('.5')).to.equal(50);
    expect(minor('3.')).to.equal(300);
  });

  it('has no floating-point surprises', () => {
    expect(minor('0.1')).to.equal(10);
    expect(minor('0.29')).to.equal(29);
    expect(minor('1.15')).to.equal(115);
    expect(minor('4.35')).to.equal(435);
    for (let cents = 1; cents < 10_000; cents += 7) {
      const text = `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
      expect(minor(text)).to.equal(cents);
    }
  });

  it('accepts the contract maximum and refuses one minor unit more', () => {
    expect(minor('10000000000.00')).to.equal(MAX_MINOR);
    expect(minor('10000000000')).to.equal(1_000_000_000_000);
    expect(refusal('10000000000.01')).to.contain('at most 10000000000.00');
    expect(refusal('99999999999999999999999')).to.contain('at most');
  });

  it('refuses zero, negatives, more than two decimals and non-numbers, saying why', () => {
    expect(refusal('0')).to.contain('more than 0');
    expect(refusal('0.00')).to.contain('more than 0');
    expect(refusal('-1')).to.contain('more than 0');
    expect(refusal('-0.5')).to.contain('more than 0');
    expect(refusal('1.234')).to.contain('two decimals');
    expect(refusal('0.001')).to.contain('two decimals');
    expect(refusal('15,50')).to.contain('point');
    for (const text of ['abc', '1e3', '0x10', '1.2.3', '.', '+5', '1 000', 'Infinity', 'NaN', '12abc', '٣']) {
      expect(refusal(text), text).to.contain('Enter a number');
    }
    expect(refusal('')).to.equal('Enter an amount.');
    expect(refusal('   ')).to.equal('Enter an amount.');
  });
});

describe('money: showing minor units', () => {
  it('shows two decimals in major units', () => {
    expect(formatMinor(1500)).to.equal('15.00');
    expect(formatMinor(500)).to.equal('5.00');
    expect(formatMinor(0)).to.equal('0.00');
    expect(formatMinor(1)).to.equal('0.01');
    expect(formatMinor(10)).to.equal('0.10');
    expect(formatMinor(1999)).to.equal('19.99');
    expect(formatMinor(MAX_MINOR)).to.equal('10000000000.00');
    expect(formatMinor(-250)).to.equal('-2.50');
  });

  it('round-trips with parsing', () => {
    for (const cents of [1, 10, 99, 100, 101, 1999, 123456789, MAX_MINOR]) {
      expect(minor(formatMinor(cents))).to.equal(cents);
    }
  });

  it('refuses what is not an integer number of minor units', () => {
    expect(() => formatMinor(1.5)).to.throw(TypeError);
    expect(() => formatMinor(Number.NaN)).to.throw(TypeError);
  });
});
