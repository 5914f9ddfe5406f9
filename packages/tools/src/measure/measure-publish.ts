// Publish throughput on a real broker: raw amqplib against RabbitPublisher, both confirming per
// batch of 200. Run after a build: node packages/tools/dist/measure/measure-publish.js [messages]
import { commandLine, parseMessageCount } from '../support/command-line.js';
import { Routes, type OutgoingMessage } from '@gozon/core';
import { encodeMessage } from '@gozon/messaging';
import { aPaymentRequest } from '@gozon/adapters/contract';
import { createRabbitTestBed } from '../support/scratch.js';
import { contentOf, DEFAULT_EXCHANGE, publishOptions, RabbitPublisher } from '@gozon/adapters/rabbitmq';

const total = commandLine(
  `usage: node packages/tools/dist/measure/measure-publish.js [messages]   (default 20000)`,
  (args) => parseMessageCount('measure-publish', args),
);
const batchSize = 200;

const batches = (): OutgoingMessage[][] =>
  Array.from({ length: Math.ceil(total / batchSize) }, () =>
    Array.from({ length: batchSize }, () => aPaymentRequest()),
  );

const rate = (label: string, started: bigint): void => {
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(`${label}: ${total} messages in ${seconds.toFixed(2)} s = ${Math.round(total / seconds)} msg/s`);
};

const bed = await createRabbitTestBed();
try {
  const raw = await bed.connection.current().createConfirmChannel();
  const rawBatches = batches();
  let started = process.hrtime.bigint();
  for (const batch of rawBatches) {
    for (const m of batch) {
      const wire = encodeMessage(m.envelope);
      if (!raw.publish(DEFAULT_EXCHANGE, m.routingKey, contentOf(wire), publishOptions(wire))) {
        await new Promise((resolve) => raw.once('drain', resolve));
      }
    }
    await raw.waitForConfirms();
  }
  rate('raw amqplib, waitForConfirms per 200', started);
  await raw.close();
  await bed.queues.purge(Routes.orderPayments);

  const publisher = new RabbitPublisher(bed.connection);
  const ours = batches();
  started = process.hrtime.bigint();
  for (const batch of ours) await publisher.publish(batch);
  rate('RabbitPublisher.publish per 200', started);
  console.log(`queue depth afterwards: ${await bed.queues.depth(Routes.orderPayments)}`);
  await publisher.close();
} finally {
  await bed.close();
}
