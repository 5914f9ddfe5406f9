import { expect } from 'chai';
import { DomainError } from '../shared/errors.js';
import { MAX_AMOUNT } from '../shared/money.js';
import { parsePaymentOutcome, parsePaymentRequested } from './messages.js';

const ORDER = '7d9f2b1e-9c55-4c43-9b1e-2f1f7c1d0a01';
const good = { order_id: ORDER, user_id: 'u1', amount: 1500 };

describe('message bodies keep to the domain’s rules', () => {
  it('takes a body whose fields keep to the rules of order ids, user ids and amounts', () => {
    expect(parsePaymentRequested('payment.requested', good)).to.deep.equal(good);
    expect(parsePaymentOutcome('payment.failed', { ...good, reason: 'account_not_found' }).body).to.include({
      reason: 'account_not_found',
    });
  });

  const bad: Record<string, unknown>[] = [
    { order_id: 'not-a-uuid' },
    { order_id: undefined },
    { user_id: '..' },
    { user_id: 'has space' },
    { user_id: 'u\u0000' },
    { user_id: '' },
    { amount: 0 },
    { amount: 1.5 },
    { amount: MAX_AMOUNT + 1 },
    { amount: '1500' },
  ];
  for (const change of bad) {
    it(`calls a body with ${JSON.stringify(change)} malformed, as the domain would refuse it`, () => {
      for (const parse of [
        () => parsePaymentRequested('payment.requested', { ...good, ...change }),
        () => parsePaymentOutcome('payment.succeeded', { ...good, ...change }),
      ]) {
        expect(parse).to.throw(DomainError).with.property('code', 'malformed_message');
      }
    });
  }
});
