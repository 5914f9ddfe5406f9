import { expect } from 'chai';
import { DomainError } from '../shared/errors.js';
import { OrderId, UserId } from '../shared/ids.js';
import { Money } from '../shared/money.js';
import { Order } from './order.js';
import { orderMessages } from './order-messages.js';
import { askAgainDelay } from './reconcile-policy.js';

const now = new Date('2026-01-01T00:00:00.000Z');
const later = new Date('2026-01-01T00:00:05.000Z');
const anOrder = (): Order =>
  Order.place({
    id: OrderId('7d9f2b1e-9c55-4c43-9b1e-2f1f7c1d0a01'),
    userId: UserId('user-1'),
    amount: Money.amount(1500),
    description: 'book',
    now,
  });

describe('Order', () => {
  it('starts NEW and records that it was placed', () => {
    const order = anOrder();
    expect(order.status).to.equal('NEW');
    expect(order.pullEvents().map((e) => e.type)).to.deep.equal(['OrderPlaced']);
    expect(order.pullEvents()).to.deep.equal([]);
  });

  it('finishes once; a repeat changes nothing', () => {
    const order = anOrder();
    expect(order.finish(later)).to.equal(true);
    expect(order.finish(later)).to.equal(false);
    expect(order.snapshot()).to.include({ status: 'FINISHED', failureReason: null });
    expect(order.snapshot().updatedAt).to.equal(later);
  });

  it('cancels with a reason once; a repeat changes nothing', () => {
    const order = anOrder();
    expect(order.cancel('insufficient_funds', later)).to.equal(true);
    expect(order.cancel('insufficient_funds', later)).to.equal(false);
    expect(order.snapshot()).to.include({ status: 'CANCELLED', failureReason: 'insufficient_funds' });
  });

  it('never moves from one final status to the other', () => {
    const finished = anOrder();
    finished.finish(later);
    expect(() => finished.cancel('account_not_found', later))
      .to.throw(DomainError)
      .with.property('code', 'invalid_order_transition');
    const cancelled = anOrder();
    cancelled.cancel('account_not_found', later);
    expect(() => cancelled.finish(later)).to.throw(DomainError);
    expect(() => cancelled.cancel('insufficient_funds', later)).to.throw(DomainError);
  });

  it('refuses a description over 500 characters', () => {
    const place = (description: string) =>
      Order.place({ id: OrderId(crypto.randomUUID()), userId: UserId('u'), amount: Money.amount(1), description, now });
    expect(place('x'.repeat(500)).snapshot().description).to.have.length(500);
    expect(() => place('x'.repeat(501)))
      .to.throw(DomainError)
      .with.property('field', 'description');
  });

  it('asks for its payment once placed; settling, it records when, and asks nothing more', () => {
    const order = anOrder();
    expect(orderMessages(order.pullEvents())).to.deep.equal([
      { type: 'payment.requested', body: { order_id: order.id, user_id: 'user-1', amount: 1500 } },
    ]);
    order.cancel('insufficient_funds', later);
    const events = order.pullEvents();
    expect(events).to.deep.equal([
      { type: 'OrderCancelled', orderId: order.id, reason: 'insufficient_funds', placedAt: now, at: later },
    ]);
    expect(orderMessages(events)).to.deep.equal([]);
  });
});

describe('Order asking for its payment again', () => {
  const at = (s: number) => new Date(now.getTime() + s * 1_000);

  it('asks again 30 s after it was placed by default, once asked', () => {
    const order = anOrder();
    expect(order.snapshot()).to.deep.include({ paymentAsks: 1, askAgainAt: at(30) });
  });

  it('asks again with the same body, counting its asks, while NEW', () => {
    const order = anOrder();
    const [placed] = orderMessages(order.pullEvents());
    expect(order.askPaymentAgain(at(90))).to.equal(true);
    expect(order.askPaymentAgain(at(210))).to.equal(true);
    const events = order.pullEvents();
    expect(events.map((e) => e.type === 'PaymentAskedAgain' && e.asks)).to.deep.equal([2, 3]);
    expect(orderMessages(events)).to.deep.equal([placed, placed]);
    expect(order.snapshot()).to.deep.include({ status: 'NEW', paymentAsks: 3, askAgainAt: at(210), updatedAt: now });
  });

  it('has nothing left to ask once final', () => {
    for (const settle of [(o: Order) => o.finish(later), (o: Order) => o.cancel('account_not_found', later)]) {
      const order = anOrder();
      settle(order);
      order.pullEvents();
      expect(order.snapshot().askAgainAt).to.equal(null);
      expect(order.askPaymentAgain(at(90))).to.equal(false);
      expect(order.pullEvents()).to.deep.equal([]);
      expect(order.snapshot().paymentAsks).to.equal(1);
    }
  });
});

describe('askAgainDelay', () => {
  it('doubles from the delay after each ask, up to the longest wait', () => {
    const policy = { afterMs: 30_000, maxDelayMs: 600_000 };
    expect([1, 2, 3, 4, 5, 6, 50].map((asks) => askAgainDelay(policy, asks))).to.deep.equal([
      30_000, 60_000, 120_000, 240_000, 480_000, 600_000, 600_000,
    ]);
  });
});
