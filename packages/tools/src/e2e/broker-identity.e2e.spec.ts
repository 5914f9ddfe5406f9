import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { MessageTypes, Routes } from '@gozon/core';
import {
  defaultTopology,
  publishConfirmed,
  RabbitConnection,
  RabbitQueueTools,
  type Outgoing,
} from '@gozon/adapters/rabbitmq';
import { addBrokerUser, deleteBrokerUser, type BrokerUser } from '../support/scratch.js';
import type { GozonClient } from './client.js';
import { ServerSystem } from './system.js';

/** A message as GoZon puts it on the wire, signed with `userId`. */
const forge = (routingKey: string, type: string, body: Record<string, unknown>, userId: string): Outgoing => ({
  exchange: 'gozon',
  routingKey,
  content: Buffer.from(JSON.stringify(body)),
  options: {
    persistent: true,
    messageId: randomUUID(),
    type,
    correlationId: String(body['order_id']),
    timestamp: Math.floor(Date.now() / 1000),
    contentType: 'application/json',
    userId,
  },
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('broker identity: forged messages on postgres + rabbitmq', function () {
  this.timeout(120_000);
  let system: ServerSystem;
  let api: GozonClient;
  let mallory: BrokerUser;
  let forger: RabbitConnection;
  let operator: RabbitConnection;
  let queues: RabbitQueueTools;

  before(async () => {
    system = await ServerSystem.start({ brokerUsers: true });
    api = await system.client();
    mallory = await addBrokerUser(system.vhost, 'mallory', { configure: '.*', write: '.*', read: '.*' });
    forger = new RabbitConnection({ url: mallory.url, topology: defaultTopology });
    await forger.open();
    operator = new RabbitConnection({ url: system.vhost.url });
    await operator.open();
    queues = new RabbitQueueTools(operator);
  });
  after(async () => {
    await forger?.close();
    await operator?.close();
    if (mallory) await deleteBrokerUser(mallory);
    await system?.stop();
  });

  const publishAs = async (message: Outgoing): Promise<void> => {
    const channel = await forger.current().createConfirmChannel();
    channel.on('error', () => undefined); // the rejected publish says why
    try {
      await publishConfirmed(channel, [message]);
    } finally {
      await channel.close().catch(() => undefined);
    }
  };

  it('runs on a user per service, and dead-letters or refuses what another user forges', async () => {
    const users = system.brokerUsers;
    if (!users) throw new Error('started without broker users');
    // The services' own users carry an order to the end.
    const rich = await api.fundedUser(1_000);
    const [done] = await api.final([(await api.order(rich, 300)).id]);
    expect(done?.status).to.equal('FINISHED');
    const poor = await api.fundedUser(100);
    const [cancelled] = await api.final([(await api.order(poor, 500)).id]);
    expect(cancelled?.status).to.equal('CANCELLED');

    // Mallory asks payments to debit the rich user for an order nobody placed, in her own name…
    const ghostOrder = randomUUID();
    const request = { order_id: ghostOrder, user_id: rich, amount: 600 };
    await publishAs(forge(Routes.orderPayments, MessageTypes.paymentRequested, request, mallory.name));
    // …and tells orders the cancelled order was paid, once as herself and once as payments.
    const paid = { order_id: cancelled?.id, user_id: poor, amount: 500 };
    await publishAs(forge(Routes.paymentStatus, MessageTypes.paymentSucceeded, paid, mallory.name));
    const impersonation = forge(Routes.paymentStatus, MessageTypes.paymentSucceeded, paid, users.payments.name);
    const refused = await publishAs(impersonation).then(
      () => 'published',
      (err: unknown) => String(err),
    );
    expect(refused).to.match(/PRECONDITION_FAILED/);

    const deadline = Date.now() + 10_000;
    const depths = async () => [
      await queues.depth(`${Routes.orderPayments}.dlq`),
      await queues.depth(`${Routes.paymentStatus}.dlq`),
    ];
    while ((await depths()).some((d) => d === 0) && Date.now() < deadline) await sleep(50);
    expect(await depths()).to.deep.equal([1, 1]);

    await sleep(500); // time for anything that got through to act
    expect(await api.balance(rich)).to.equal(700);
    expect(await api.balance(poor)).to.equal(100);
    expect((await api.getOrder(cancelled?.id ?? '')).status).to.equal('CANCELLED');
    const ghost = await system.databases.payments.db.query('SELECT 1 FROM payments WHERE order_id = $1', [ghostOrder]);
    expect(ghost.rowCount).to.equal(0);
    const orderRows = await system.databases.orders.db.query('SELECT status FROM orders WHERE id = $1', [ghostOrder]);
    expect(orderRows.rowCount).to.equal(0);
  });
});
