import { Routes } from '@gozon/core';
import { describeBrokerContract } from '../contract/index.js';
import { createRabbitTestBed } from '../testing/rabbitmq.js';
import { RabbitPublisher } from './publisher.js';
import { RabbitSubscriber } from './subscriber.js';
import { deadLetterQueueOf } from './topology.js';

describeBrokerContract('rabbitmq', async (retry) => {
  const bed = await createRabbitTestBed({
    topology: { exchange: 'gozon', queues: [Routes.orderPayments, Routes.paymentStatus], retry },
  });
  const publisher = new RabbitPublisher(bed.connection);
  return {
    publisher,
    subscriber: new RabbitSubscriber(bed.connection, { retry, prefetch: 20 }),
    injectRaw: (queue, message) => bed.injectRaw(queue, message),
    deadLetters: (queue) => bed.queues.take(deadLetterQueueOf(queue)),
    close: async () => {
      await publisher.close();
      await bed.close();
    },
  };
});
