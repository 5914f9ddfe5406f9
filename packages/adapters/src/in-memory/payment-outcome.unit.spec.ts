import { expect } from 'chai';
import { DomainError, MessageTypes } from '@gozon/core';
import { actor, rejectionOf, uniqueUser } from '../contract/index.js';
import { InMemorySystem } from './index.js';

describe('an outcome moves an order only when it names the order’s user and amount', () => {
  const outcome = (orderId: string, userId: string, amount: number) => ({
    id: globalThis.crypto.randomUUID(),
    type: MessageTypes.paymentSucceeded,
    correlationId: orderId,
    occurredAt: new Date().toISOString(),
    payload: { order_id: orderId, user_id: userId, amount },
    headers: {},
  });

  it('refuses an outcome for another user or another amount, and the order stays NEW; the right one settles it', async () => {
    // Not started: nothing consumes the queues, so only the outcomes given here reach the order.
    const system = new InMemorySystem();
    const owner = uniqueUser();
    const order = await system.placeOrder.execute({ caller: actor(owner), amount: 250 });

    const otherUser = await rejectionOf(system.applyPaymentOutcome.execute(outcome(order.id, uniqueUser(), 250)));
    expect(otherUser).to.be.instanceOf(DomainError).with.property('code', 'user_mismatch');
    const otherAmount = await rejectionOf(system.applyPaymentOutcome.execute(outcome(order.id, owner, 251)));
    expect(otherAmount).to.be.instanceOf(DomainError).with.property('code', 'amount_mismatch');
    expect((await system.getOrder.execute(actor(owner), order.id)).status).to.equal('NEW');

    expect(await system.applyPaymentOutcome.execute(outcome(order.id, owner, 250))).to.equal('applied');
    expect((await system.getOrder.execute(actor(owner), order.id)).status).to.equal('FINISHED');
  });
});
