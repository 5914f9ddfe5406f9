import { expect } from 'chai';
import { SequentialIds } from '../shared/id-generator.js';
import { outgoing, type MessageEnvelope } from './envelope.js';
import { MessageTypes, Routes } from './messages.js';

const ORDER = '7d9f2b1e-9c55-4c43-9b1e-2f1f7c1d0a01';
const at = new Date('2026-01-01T00:00:00.000Z');
const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

describe('outgoing messages', () => {
  it('asks for a payment on order.payments, correlated to the order, with the request’s trace context only', () => {
    const [message] = outgoing(
      [{ type: MessageTypes.paymentRequested, body: { order_id: ORDER, user_id: 'u1', amount: 1500 } }],
      { ids: new SequentialIds(), at, headers: { traceparent, 'x-other': 'stays behind' } },
    );
    expect(message).to.deep.equal({
      routingKey: Routes.orderPayments,
      envelope: {
        id: '00000000-0000-4000-8000-000000000001',
        type: 'payment.requested',
        correlationId: ORDER,
        occurredAt: '2026-01-01T00:00:00.000Z',
        payload: { order_id: ORDER, user_id: 'u1', amount: 1500 },
        headers: { traceparent },
      },
    });
    expect(message?.envelope).not.to.have.property('causationId');
    expect(JSON.stringify(message?.envelope.payload)).to.equal(`{"order_id":"${ORDER}","user_id":"u1","amount":1500}`);
  });

  it('tells an outcome on payment.status, caused by the request it answers, carrying on its trace context', () => {
    const cause: MessageEnvelope = {
      id: 'request-1',
      type: MessageTypes.paymentRequested,
      correlationId: ORDER,
      occurredAt: at.toISOString(),
      payload: {},
      headers: { traceparent, tracestate: 'a=1', 'x-retries': '2' },
    };
    const body = { order_id: ORDER, user_id: 'u1', amount: 1500, reason: 'insufficient_funds' as const };
    const [message] = outgoing([{ type: MessageTypes.paymentFailed, body }], { ids: new SequentialIds(), at, cause });
    expect(message?.routingKey).to.equal(Routes.paymentStatus);
    expect(message?.envelope).to.include({ type: 'payment.failed', correlationId: ORDER, causationId: 'request-1' });
    expect(message?.envelope.headers).to.deep.equal({ traceparent, tracestate: 'a=1' });
    expect(JSON.stringify(message?.envelope.payload)).to.equal(
      `{"order_id":"${ORDER}","user_id":"u1","amount":1500,"reason":"insufficient_funds"}`,
    );
  });
});
