import { Routes } from '@gozon/core';
import { describeBrokerContract } from '../contract/index.js';
import { createRabbitTestBed } from '../testing/rabbitmq.js';
import { RabbitPublisher } from './publisher.js';
import { publishConfirmed } from './confirm.js';
import { RabbitSubscriber } from './subscriber.js';
import { deadLetterQueueOf } from './topology.js';
import { contentOf, publishOptions } from './wire.js';

describeBrokerContract('rabbitmq', async (retry) => {
  const bed = await createRabbitTestBed({ exchange: 'gozon', queues: [Routes.orderPayments, Routes.paymentStatus], retry });
  const publisher = new RabbitPublisher(bed.connection);
  return {
    publisher,
    subscriber: new RabbitSubscriber(bed.connection, { retry, prefetch: 20 }),
    injectRaw: async (queue, message) => {
      const channel = await bed.connection.current().createConfirmChannel();
      try {
        await publishConfirmed(channel, [{ exchange: '', routingKey: queue, content: contentOf(message), options: publishOptions(message) }]);
      } finally {
        await channel.close();
      }
    },
    deadLetters: (queue) => bed.queues.take(deadLetterQueueOf(queue)),
    close: async () => {
      await publisher.close();
      await bed.close();
    },
  };
});
