// Publish throughput on a real broker: raw amqplib against RabbitPublisher, both confirming per
// batch of 200. Run after a build: node packages/tools/dist/measure/measure-publish.js [messages]
import { commandLine, parseMessageCount } from '../support/command-line.js';
import { Routes, type OutgoingMessage } from '@gozon/core';
import { aPaymentRequest } from '@gozon/adapters/contract';
import { createRabbitTestBed } from '../support/scratch.js';
import { RabbitPublisher } from '@gozon/adapters/rabbitmq';
import { publishRaw } from './raw-publish.js';

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
  const rawBatches = batches();
  let started = process.hrtime.bigint();
  await publishRaw(bed.connection, rawBatches);
  rate('raw amqplib, waitForConfirms per 200', started);
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
