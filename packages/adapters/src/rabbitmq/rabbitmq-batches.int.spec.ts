import { expect } from 'chai';
import { Routes } from '@gozon/core';
import { aPaymentRequest, eventually } from '../contract/index.js';
import { createRabbitTestBed } from '../testing/rabbitmq.js';
import { RabbitPublisher } from './publisher.js';
import { RabbitSubscriber } from './subscriber.js';

describe('RabbitSubscriber groups on RabbitMQ', function () {
  this.timeout(30_000);

  it('puts deliveries that arrive together into one group, though a group could have started with the first', async () => {
    const bed = await createRabbitTestBed();
    const publisher = new RabbitPublisher(bed.connection);
    const groups: string[][] = [];
    try {
      const messages = Array.from({ length: 12 }, () => aPaymentRequest());
      await publisher.publish(messages);
      const subscription = await new RabbitSubscriber(bed.connection).subscribe(
        Routes.orderPayments,
        async (message) => {
          groups.push([message.id]); // a group of one goes to the one-message handler
        },
        {
          batch: async (batch) => {
            groups.push(batch.map((m) => m.id));
          },
        },
      );
      await eventually(() => groups.flat().length === 12, 5_000, '12 messages handled');
      await subscription.close();
      // The broker sends what waits at once; the first group used to start with the first delivery alone.
      expect(groups[0]).to.have.length.greaterThan(1);
      expect(groups.flat().sort()).to.deep.equal(messages.map((m) => m.envelope.id).sort());
    } finally {
      await publisher.close();
      await bed.close();
    }
  });
});
