import { expect } from 'chai';
import { Routes } from '@gozon/core';
import { aPaymentRequest, eventually, rejectionOf } from '../contract/index.js';
import { createRabbitTestBed, type RabbitTestBed } from '../testing/rabbitmq.js';
import { connect } from 'amqplib';
import { coalesceWrites } from './coalesce-writes.js';
import { RabbitPublisher } from './publisher.js';

describe('RabbitPublisher on RabbitMQ', function () {
  this.timeout(30_000);
  let bed: RabbitTestBed;
  let publisher: RabbitPublisher;
  beforeEach(async () => {
    bed = await createRabbitTestBed();
    publisher = new RabbitPublisher(bed.connection);
  });
  afterEach(async () => {
    await publisher?.close(); // undefined when the broker could not be reached
    await bed.close();
  });

  it('publishes persistent messages with every property the contract lists', async () => {
    const message = aPaymentRequest();
    await publisher.publish([message]);
    const got = await bed.getRaw(Routes.orderPayments);
    expect(got.deliveryMode).to.equal(2);
    expect(got.properties).to.include({
      messageId: message.envelope.id,
      type: 'payment.requested',
      correlationId: message.envelope.correlationId,
      contentType: 'application/json',
      timestamp: Date.parse(message.envelope.occurredAt) / 1000,
    });
    expect(got.properties.headers).to.include({ traceparent: message.envelope.headers['traceparent'] });
    expect(JSON.parse(Buffer.from(got.body).toString('utf8'))).to.deep.equal(message.envelope.payload);
  });

  it("finds amqplib's muxer where it coalesces its writes (a version that moved it would lose the gain silently)", async () => {
    const model = await connect(bed.vhost.url);
    try {
      expect(coalesceWrites(model)).to.equal(true);
      const channel = await model.createConfirmChannel();
      await channel.close();
    } finally {
      await model.close();
    }
  });

  it('resolves a batch of 1,000 only once all of it is on the queue', async () => {
    const batch = Array.from({ length: 1_000 }, () => aPaymentRequest());
    await publisher.publish(batch);
    expect(await bed.queues.depth(Routes.orderPayments)).to.equal(1_000);
    const ids = (await bed.queues.take(Routes.orderPayments)).map((m) => m.properties.messageId);
    expect(ids).to.deep.equal(batch.map((m) => m.envelope.id));
  });

  it('waits for the channel to drain when its buffer is full, and loses nothing', async () => {
    // Watches the publisher's channel: a write while the buffer is full ignores back-pressure.
    let fulls = 0;
    let writesWhileFull = 0;
    let full = false;
    const model = bed.connection.current();
    const create = model.createConfirmChannel.bind(model);
    model.createConfirmChannel = async (options) => {
      const channel = await create(options);
      const publish = channel.publish.bind(channel);
      channel.publish = (...args: Parameters<typeof publish>) => {
        if (full) writesWhileFull += 1;
        const room = publish(...args);
        if (!room && !full) fulls += 1;
        full = !room;
        return room;
      };
      channel.on('drain', () => (full = false));
      return channel;
    };
    const pad = 'x'.repeat(8 * 1024);
    const batch = Array.from({ length: 2_000 }, () => {
      const m = aPaymentRequest();
      return { ...m, envelope: { ...m.envelope, payload: { ...(m.envelope.payload as object), pad } } };
    });
    await publisher.publish(batch);
    expect(fulls).to.be.greaterThan(0);
    expect(writesWhileFull).to.equal(0);
    expect(await bed.queues.depth(Routes.orderPayments)).to.equal(2_000);
  });

  it('rejects a batch with a message no queue is bound for, and goes on working', async () => {
    const lost = { ...aPaymentRequest(), routingKey: 'nowhere.bound' };
    const err = await rejectionOf(publisher.publish([aPaymentRequest(), lost]));
    expect(String(err)).to.match(/unroutable/);
    await publisher.publish([aPaymentRequest()]);
    expect(await bed.queues.depth(Routes.orderPayments)).to.equal(2);
  });

  it('rejects while the connection is down and publishes again once it is back', async () => {
    const slow = await bed.connect({ minBackoffMs: 1_500 }); // down long enough to publish into
    publisher = new RabbitPublisher(slow);
    await bed.vhost.dropConnections();
    await eventually(() => !slow.isOpen, 5_000, 'the drop to be noticed');
    const err = await rejectionOf(publisher.publish([aPaymentRequest()]));
    expect(String(err)).to.match(/down/);
    await eventually(() => slow.isOpen, 10_000, 'the reconnect');
    await publisher.publish([aPaymentRequest()]);
    expect(await bed.queues.depth(Routes.orderPayments)).to.equal(1);
  });
});
