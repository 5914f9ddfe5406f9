import { expect } from 'chai';
import { DomainError, Routes, type MessageEnvelope } from '@gozon/core';
import { type RetryPolicy } from '@gozon/messaging';
import { aPaymentRequest, rejectionOf } from '../contract/fixtures.js';
import { DirectBus, type DeadLetter } from './direct-bus.js';

class DatabaseDown extends Error {}

const retry: RetryPolicy = {
  maxAttempts: 3,
  baseDelayMs: 1,
  maxDelayMs: 1,
  isTransient: (err) => err instanceof DatabaseDown,
};

describe('direct bus: the embedded broker', () => {
  let letters: DeadLetter[];
  let retries: number;
  let bus: DirectBus;
  beforeEach(() => {
    letters = [];
    retries = 0;
    bus = new DirectBus(
      (letter) => letters.push(letter),
      () => (retries += 1),
      retry,
    );
  });

  it('resolves a publish only once the handler has finished', async () => {
    const seen: MessageEnvelope[] = [];
    await bus.subscribe(Routes.orderPayments, async (message) => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      seen.push(message);
    });
    const message = aPaymentRequest();
    await bus.publish([message]);
    expect(seen.map((m) => m.id)).to.deep.equal([message.envelope.id]);
  });

  it('dead-letters a message that keeps failing after the retry limit, so the ones behind it go on', async () => {
    const poison = aPaymentRequest();
    const next = aPaymentRequest();
    const handled: string[] = [];
    let calls = 0;
    await bus.subscribe(Routes.orderPayments, async (message) => {
      if (message.id === poison.envelope.id) {
        calls += 1;
        throw new Error('a bug');
      }
      handled.push(message.id);
    });
    // The relay publishes the batch again after each failure; it stays in the outbox meanwhile.
    for (let attempt = 1; attempt < retry.maxAttempts; attempt += 1) {
      expect(await rejectionOf(bus.publish([poison, next]))).to.be.instanceOf(Error);
    }
    expect(handled).to.deep.equal([]);
    await bus.publish([poison, next]);
    expect(calls).to.equal(retry.maxAttempts);
    expect(handled).to.deep.equal([next.envelope.id]);
    expect(letters.map((l) => l.message.properties.messageId)).to.deep.equal([poison.envelope.id]);
    expect(letters[0]?.reason).to.match(/gave up after 3 attempts/);
    expect(retries).to.equal(retry.maxAttempts - 1);
  });

  it('retries a failure while a database is down for as long as it lasts, without using up attempts', async () => {
    const message = aPaymentRequest();
    let calls = 0;
    await bus.subscribe(Routes.orderPayments, async () => {
      calls += 1;
      if (calls <= 10) throw new DatabaseDown('connection refused');
    });
    for (let i = 0; i < 10; i += 1) expect(await rejectionOf(bus.publish([message]))).to.be.instanceOf(DatabaseDown);
    await bus.publish([message]);
    expect(calls).to.equal(11);
    expect(letters).to.deep.equal([]);
  });

  it('dead-letters an invalid message at once', async () => {
    await bus.subscribe(Routes.orderPayments, async () => {
      throw new DomainError('malformed_message', 'malformed_message', 'no order_id');
    });
    await bus.publish([aPaymentRequest()]);
    expect(letters).to.have.length(1);
  });
});
