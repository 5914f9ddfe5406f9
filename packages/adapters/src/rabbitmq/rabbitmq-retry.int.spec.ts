import { expect } from 'chai';
import { Routes } from '@gozon/core';
import { type RetryPolicy, type Subscription } from '@gozon/messaging';
import { aPaymentRequest, eventually } from '../contract/index.js';
import { createRabbitTestBed, type RabbitTestBed } from '../testing/rabbitmq.js';
import { RabbitPublisher } from './publisher.js';
import { RabbitSubscriber } from './subscriber.js';
import { deadLetterQueueOf, retryDelays, retryQueueOf } from './topology.js';

const queue = Routes.orderPayments;

describe('RabbitMQ retries and dead letters', function () {
  this.timeout(30_000);
  let bed: RabbitTestBed;
  let subscription: Subscription | undefined;
  const start = async (
    retry: RetryPolicy,
    handler: Parameters<RabbitSubscriber['subscribe']>[1],
  ): Promise<RabbitPublisher> => {
    subscription = await new RabbitSubscriber(bed.connection, { retry }).subscribe(queue, handler);
    return new RabbitPublisher(bed.connection);
  };
  beforeEach(async () => {
    bed = await createRabbitTestBed();
  });
  afterEach(async () => {
    await subscription?.close();
    subscription = undefined;
    await bed.close();
  });

  it('retries with a growing delay and dead-letters after maxAttempts, attempt count on it', async () => {
    const retry = { maxAttempts: 4, baseDelayMs: 150, maxDelayMs: 1_000 };
    const calls: number[] = [];
    const publisher = await start(retry, async () => {
      calls.push(Date.now());
      throw new Error('still failing');
    });
    const message = aPaymentRequest();
    await publisher.publish([message]);
    await eventually(async () => (await bed.queues.depth(deadLetterQueueOf(queue))) === 1, 10_000, 'the dead letter');
    expect(calls).to.have.length(4);
    const gaps = calls.slice(1).map((at, i) => at - (calls[i] as number));
    [150, 300, 600].forEach((delay, i) =>
      expect(gaps[i])
        .to.be.at.least(delay - 5)
        .and.below(delay + 400),
    );
    const dead = await bed.getRaw(deadLetterQueueOf(queue));
    expect(dead.properties.messageId).to.equal(message.envelope.id);
    expect(dead.properties.headers?.['x-gozon-attempts']).to.equal(4);
    expect(dead.deliveryMode).to.equal(2);
    for (const delay of retryDelays(retry)) expect(await bed.queues.depth(retryQueueOf(queue, delay))).to.equal(0);
    expect(await bed.queues.depth(queue)).to.equal(0);
  });

  it('does not hold a short retry behind a long one (no head-of-line blocking)', async () => {
    const retry = { maxAttempts: 6, baseDelayMs: 100, maxDelayMs: 3_200 };
    const slow = aPaymentRequest();
    const quick = aPaymentRequest();
    const calls: Array<{ id: string; at: number }> = [];
    const publisher = await start(retry, async (m) => {
      calls.push({ id: m.id, at: Date.now() });
      if (m.id === slow.envelope.id || calls.filter((c) => c.id === m.id).length < 2) throw new Error('not yet');
    });
    const of = (id: string): number[] => calls.filter((c) => c.id === id).map((c) => c.at);
    await publisher.publish([slow]);
    await eventually(() => of(slow.envelope.id).length === 5, 10_000, 'the slow message to be parked for 1.6 s');
    await publisher.publish([quick]);
    await eventually(() => of(quick.envelope.id).length === 2, 10_000, 'the quick retry');
    const [first, second] = of(quick.envelope.id) as [number, number];
    expect(second - first).to.be.below(700);
    expect(of(slow.envelope.id)).to.have.length(5); // still parked
  });

  it('dead-letters malformed messages at once while the good ones around them are handled', async () => {
    const handled: string[] = [];
    const publisher = await start({ maxAttempts: 3, baseDelayMs: 50, maxDelayMs: 100 }, async (m) => {
      handled.push(m.id);
    });
    const json = new TextEncoder().encode('{}');
    const bad = [
      {
        properties: { messageId: 'bad-json', type: 'payment.requested', correlationId: 'c' },
        body: new TextEncoder().encode('{nope'),
      },
      { properties: { type: 'payment.requested', correlationId: 'no-id' }, body: json },
      { properties: { messageId: 'no-type', correlationId: 'c' }, body: json },
      {
        properties: { messageId: 'not-utf8', type: 'payment.requested', correlationId: 'c' },
        body: new Uint8Array([0xff, 0xfe, 0x7b]),
      },
    ];
    const good = Array.from({ length: 30 }, () => aPaymentRequest());
    for (const [i, message] of bad.entries()) {
      await publisher.publish(good.slice(i * 6, i * 6 + 6));
      await bed.injectRaw(queue, message);
    }
    await publisher.publish(good.slice(24));
    await eventually(() => handled.length === 30, 10_000, 'every good message');
    expect([...handled].sort()).to.deep.equal(good.map((m) => m.envelope.id).sort());
    await eventually(async () => (await bed.queues.depth(deadLetterQueueOf(queue))) === 4, 5_000, 'four dead letters');
    const dead = await bed.queues.take(deadLetterQueueOf(queue));
    expect(dead.map((m) => m.properties.messageId ?? m.properties.correlationId)).to.have.members([
      'bad-json',
      'no-id',
      'no-type',
      'not-utf8',
    ]);
  });
});
