import { expect } from 'chai';
import { MessageTypes } from '@gozon/core';
import { actor, uniqueUser } from '../contract/index.js';
import type { InMemoryDatabase } from './database.js';
import { InMemorySystem } from './index.js';

const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
const tracestate = 'vendor=opaque';
// What a publisher (or anyone who can publish on the queue) may add besides the trace context.
const foreign = { 'x-tenant': 'someone-else', authorization: 'Bearer secret', baggage: 'user=alice' };

const headersInOutbox = (db: InMemoryDatabase): Record<string, string>[] =>
  [...db.outbox.values()].map((row) => ({ ...row.envelope.headers }));

describe('messages carry on only the trace context of what caused them', () => {
  it('a payment outcome carries the request’s traceparent and tracestate, and none of its other headers', async () => {
    // Not started: nothing relays the outboxes, so what the use case wrote stays there to read.
    const system = new InMemorySystem();
    const user = uniqueUser();
    const orderId = globalThis.crypto.randomUUID();
    await system.chargeOnPaymentRequested.execute({
      id: globalThis.crypto.randomUUID(),
      type: MessageTypes.paymentRequested,
      correlationId: orderId,
      occurredAt: new Date().toISOString(),
      payload: { order_id: orderId, user_id: user, amount: 100 },
      headers: { traceparent, tracestate, ...foreign },
    });
    expect(headersInOutbox(system.paymentsDb)).to.deep.equal([{ traceparent, tracestate }]);
  });

  it('a payment request carries the trace context it was given, and nothing else', async () => {
    const system = new InMemorySystem();
    await system.placeOrder.execute({
      caller: actor(uniqueUser()),
      amount: 100,
      headers: { traceparent, ...foreign },
    });
    expect(headersInOutbox(system.ordersDb)).to.deep.equal([{ traceparent }]);
  });
});
