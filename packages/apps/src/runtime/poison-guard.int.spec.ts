import { expect } from 'chai';
import { pino } from 'pino';
import { Routes } from '@gozon/core';
import { aPaymentRequest, eventually } from '@gozon/adapters/contract';
import { PgDeliveryCounter } from '@gozon/adapters/postgres';
import { deadLetterQueueOf, RabbitPublisher } from '@gozon/adapters/rabbitmq';
import { createRabbitTestBed, createTestDatabase } from '../scratch.spec.helper.js';
import { readConfig } from '../config.js';
import { openBroker, serviceInfrastructure } from './infrastructures.js';
import { authenticate } from '../auth/bearer.js';
import { startService } from './service-part.js';

const queue = Routes.orderPayments;

describe('the poison guard as a service wires it on RabbitMQ', function () {
  this.timeout(60_000);

  it('counts redeliveries in the service database and dead-letters past GOZON_MAX_REDELIVERIES', async () => {
    const bed = await createRabbitTestBed();
    const database = await createTestDatabase('payments');
    const lines: Array<Record<string, unknown>> = [];
    const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const config = readConfig({
      AMQP_URL: bed.vhost.url,
      PAYMENTS_DATABASE_URL: database.url,
      GOZON_MAX_REDELIVERIES: '1',
    });
    const broker = await openBroker(config, log);
    try {
      const fresh = aPaymentRequest();
      const suspect = aPaymentRequest();
      const publisher = new RabbitPublisher(bed.connection);
      await publisher.publish([fresh, suspect]);
      await publisher.close();
      // `suspect` came back once before (a crash of an earlier process), and both come back now:
      // handed out and given back unsettled, as a consumer that dies does.
      await new PgDeliveryCounter(database.db).count(queue, suspect.envelope.id);
      const channel = await bed.connection.current().createChannel();
      expect(await channel.get(queue)).to.not.equal(false);
      expect(await channel.get(queue)).to.not.equal(false);
      await channel.close();

      const infra = await serviceInfrastructure(config, 'payments', broker, log);
      const part = await startService('payments', infra, 0, log, { authenticate: authenticate(null) });
      try {
        await eventually(
          async () => (await bed.queues.depth(deadLetterQueueOf(queue))) === 1,
          10_000,
          'the dead letter',
        );
        await eventually(
          () => lines.some((l) => l['msg'] === 'message handled' && l['message_id'] === fresh.envelope.id),
          10_000,
          'the other message to be handled',
        );
      } finally {
        await part.stop();
      }

      const dead = await bed.getRaw(deadLetterQueueOf(queue));
      expect(dead.properties.messageId).to.equal(suspect.envelope.id);
      expect(lines.some((l) => l['message_id'] === suspect.envelope.id && l['msg'] === 'message handled')).to.equal(
        false,
      );
      expect(lines.find((l) => l['message_id'] === suspect.envelope.id)).to.include({
        level: 50,
        queue,
        redeliveries: 2,
        msg: 'dead-lettered as poison after 2 redeliveries',
      });
      const { rows } = await database.db.query<{ message_id: string; redeliveries: number }>(
        'SELECT message_id, redeliveries FROM delivery_attempts ORDER BY redeliveries',
      );
      expect(rows).to.deep.equal([
        { message_id: fresh.envelope.id, redeliveries: 1 },
        { message_id: suspect.envelope.id, redeliveries: 2 },
      ]);
    } finally {
      await broker.close();
      await bed.close();
      await database.drop();
    }
  });
});
