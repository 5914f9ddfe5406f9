import { expect } from 'chai';
import { isDomainError, MessageTypes, Routes, type MessageEnvelope, type OutgoingMessage } from '@gozon/core';
import { type Subscription } from '@gozon/messaging';
import { aPaymentRequest, eventually, rejectionOf, sleep } from '../contract/index.js';
import {
  addBrokerUser,
  createRabbitTestBed,
  createServiceUsers,
  deleteBrokerUser,
  type BrokerUser,
  type RabbitTestBed,
  type ServiceUsers,
} from '../testing/rabbitmq.js';
import { RabbitConnection } from './connection.js';
import { RabbitDeadLetters } from './dead-letters.js';
import { userOf } from './identity.js';
import { RabbitPublisher } from './publisher.js';
import { RabbitSubscriber } from './subscriber.js';
import { deadLetterQueueOf, defaultTopology } from './topology.js';

const queue = Routes.paymentStatus;

const aPaymentSucceeded = (userId?: string): OutgoingMessage => {
  const { envelope } = aPaymentRequest(userId === undefined ? {} : { userId });
  return { routingKey: queue, envelope: { ...envelope, type: MessageTypes.paymentSucceeded } };
};

interface Failure {
  readonly err: unknown;
  readonly action: string;
}

describe('broker identity on rabbitmq: userId and who may publish what', function () {
  this.timeout(60_000);
  let bed: RabbitTestBed;
  let users: ServiceUsers;
  let mallory: BrokerUser;
  const connections: RabbitConnection[] = [];
  let subscription: Subscription | undefined;

  const connectAs = async (user: BrokerUser): Promise<RabbitConnection> => {
    const connection = new RabbitConnection({ url: user.url, topology: defaultTopology });
    connections.push(connection);
    await connection.open();
    return connection;
  };
  const publisherOf = async (user: BrokerUser, userId = user.name): Promise<RabbitPublisher> =>
    new RabbitPublisher(await connectAs(user), { userId });

  /** The orders service's consumer of payment.status: it expects the payments user. */
  const consume = async (options: { batch?: boolean; failFirst?: boolean } = {}) => {
    const handled: MessageEnvelope[] = [];
    const batches: number[] = [];
    const failures: Failure[] = [];
    const failed = new Set<string>();
    const subscriber = new RabbitSubscriber(await connectAs(users.orders), {
      retry: { maxAttempts: 3, baseDelayMs: 50, maxDelayMs: 100 },
      senders: { [Routes.orderPayments]: users.orders.name, [queue]: users.payments.name },
      onFailure: (err, action) => failures.push({ err, action }),
    });
    const handle = async (message: MessageEnvelope): Promise<void> => {
      if (options.failFirst && !failed.has(message.id)) {
        failed.add(message.id);
        throw new Error('failing once on purpose');
      }
      handled.push(message);
    };
    subscription = await subscriber.subscribe(queue, handle, {
      batch: options.batch
        ? async (batch) => {
            batches.push(batch.length);
            handled.push(...batch);
          }
        : undefined,
    });
    return { handled, failures, batches };
  };

  before(async () => {
    bed = await createRabbitTestBed();
    users = await createServiceUsers(bed.vhost);
    mallory = await addBrokerUser(bed.vhost, 'mallory', { configure: '.*', write: '.*', read: '.*' });
  });
  after(async () => {
    await users?.delete();
    if (mallory) await deleteBrokerUser(mallory);
    await bed?.close();
  });
  afterEach(async () => {
    await subscription?.close();
    subscription = undefined;
    await Promise.all(connections.splice(0).map((c) => c.close()));
    for (const q of [queue, deadLetterQueueOf(queue), Routes.orderPayments]) await bed.queues.purge(q);
  });

  it('derives the broker user from the connection URL', () => {
    expect(userOf(users.payments.url)).to.equal(users.payments.name);
    expect(userOf('amqp://a%40b:pw@h:5672/v,amqp://a%40b:pw@h2:5672/v')).to.equal('a@b');
    expect(userOf('amqp://rabbit:5672')).to.equal('guest');
  });

  it('stamps the payments user on payment.status, and the orders consumer takes it', async () => {
    const payments = await publisherOf(users.payments);
    const stamped = aPaymentSucceeded();
    await payments.publish([stamped]);
    const raw = await bed.getRaw(queue);
    expect(raw.properties.messageId).to.equal(stamped.envelope.id);
    expect(raw.raw['userId']).to.equal(users.payments.name);

    const { handled, failures } = await consume();
    const message = aPaymentSucceeded();
    await payments.publish([message]);
    await eventually(() => handled.length === 1, 5_000, 'the message from payments');
    expect(handled[0]?.id).to.equal(message.envelope.id);
    expect(failures).to.deep.equal([]);
  });

  it('lets the broker refuse the orders user publishing payment.status (topic permission)', async () => {
    const orders = await publisherOf(users.orders);
    const err = await rejectionOf(orders.publish([aPaymentSucceeded()]));
    expect(String(err)).to.match(/ACCESS_REFUSED/);
    // Its own key still goes through on a new channel.
    await orders.publish([aPaymentRequest()]);
    await eventually(async () => (await bed.queues.depth(Routes.orderPayments)) === 1, 5_000, 'order.payments');
    expect(await bed.queues.depth(queue)).to.equal(0);
  });

  it('lets the broker refuse a userId that is not the publishing user (validated user-id)', async () => {
    const forger = await publisherOf(mallory, users.payments.name);
    const err = await rejectionOf(forger.publish([aPaymentSucceeded()]));
    expect(String(err)).to.match(/PRECONDITION_FAILED/);
    expect(await bed.queues.depth(queue)).to.equal(0);
  });

  for (const batch of [false, true]) {
    const path = batch ? 'in batches' : 'one by one';
    it(`dead-letters what another user published under its own name, unseen by the handler (${path})`, async () => {
      const payments = await publisherOf(users.payments);
      const forger = await publisherOf(mallory);
      const forged = [aPaymentSucceeded('alice-victim'), aPaymentSucceeded('alice-victim')];
      const genuine = [aPaymentSucceeded(), aPaymentSucceeded(), aPaymentSucceeded()];
      // Published before the consumer starts, so that with batches they arrive as one group.
      await forger.publish(forged.slice(0, 1));
      await payments.publish(genuine);
      await forger.publish(forged.slice(1));
      const { handled, failures, batches } = await consume({ batch });
      await eventually(() => handled.length === 3, 5_000, 'the genuine messages');
      // With batches, the genuine ones that arrived together went through the batch handler.
      if (batch) expect(batches.reduce((a, b) => a + b, 0)).to.be.at.least(2);
      else expect(batches).to.deep.equal([]);
      await eventually(async () => (await bed.queues.depth(deadLetterQueueOf(queue))) === 2, 5_000, 'two dead letters');
      expect(handled.map((m) => m.id).sort()).to.deep.equal(genuine.map((m) => m.envelope.id).sort());
      const dead = await bed.queues.take(deadLetterQueueOf(queue));
      expect(dead.map((m) => m.properties.messageId).sort()).to.deep.equal(forged.map((m) => m.envelope.id).sort());
      expect(failures.map((f) => f.action)).to.deep.equal(['dead-letter', 'dead-letter']);
      for (const { err } of failures) {
        expect(isDomainError(err) && err.kind === 'malformed_message' && err.code).to.equal('unexpected_sender');
        expect(String(err)).to.include(mallory.name).and.not.include('alice-victim');
      }
    });
  }

  it('accepts a message without userId, and retry copies (which carry none) still pass', async () => {
    const { handled, failures } = await consume({ failFirst: true });
    const unsigned = aPaymentSucceeded();
    await new RabbitPublisher(await connectAs(mallory)).publish([unsigned]);
    const genuine = aPaymentSucceeded();
    await (await publisherOf(users.payments)).publish([genuine]);
    await eventually(() => handled.length === 2, 5_000, 'both messages, each after one retry');
    expect(handled.map((m) => m.id).sort()).to.deep.equal([unsigned.envelope.id, genuine.envelope.id].sort());
    expect(failures.map((f) => f.action)).to.deep.equal(['retry', 'retry']);
    await sleep(100);
    expect(await bed.queues.depth(deadLetterQueueOf(queue))).to.equal(0);
  });

  it('replays a signed dead letter from the operator connection without its userId, and the consumer takes it', async () => {
    const forged = aPaymentSucceeded();
    await (await publisherOf(mallory)).publish([forged]);
    const first = await consume();
    await eventually(async () => (await bed.queues.depth(deadLetterQueueOf(queue))) === 1, 5_000, 'the dead letter');
    expect(first.handled).to.deep.equal([]);
    await subscription?.close();
    // The bed's own connection (guest) stands for the operator of `gozon dlq`.
    const letters = new RabbitDeadLetters(bed.connection, [queue]);
    expect((await letters.list()).map((d) => d.publishedBy)).to.deep.equal([mallory.name]);
    expect(await letters.replay(() => true)).to.deep.equal([forged.envelope.id]);
    const { handled, failures } = await consume();
    await eventually(() => handled.length === 1, 5_000, 'the replayed message');
    expect(handled[0]?.id).to.equal(forged.envelope.id);
    expect(failures).to.deep.equal([]);
  });
});
