import { expect } from 'chai';
import { Routes, type OutgoingMessage } from '@gozon/core';
import { type Subscription } from '@gozon/messaging';
import { aPaymentRequest, eventually, rejectionOf, sleep } from '../contract/index.js';
import { createRabbitTestBed, rabbitmqctl, type RabbitTestBed } from '../testing/rabbitmq.js';
import { RabbitConnection, type RabbitEvent } from './connection.js';
import { RabbitPublisher } from './publisher.js';
import { defaultTopology } from './topology.js';
import { RabbitSubscriber } from './subscriber.js';

const connectionsTo = async (vhost: string): Promise<number> =>
  (await rabbitmqctl('list_connections', '-p', vhost, 'name'))
    .split('\n')
    .filter((line) => line.trim() && !/^name$/.test(line.trim())).length;

describe('RabbitMQ connection recovery', function () {
  this.timeout(60_000);
  let bed: RabbitTestBed;
  let subscription: Subscription | undefined;
  beforeEach(async () => {
    bed = await createRabbitTestBed();
  });
  afterEach(async () => {
    await subscription?.close();
    subscription = undefined;
    await bed.close();
  });

  it('loses nothing when the broker drops every connection in the middle of a stream of 500', async () => {
    const publisher = new RabbitPublisher(bed.connection);
    const consumerConnection = await bed.connect();
    const handled = new Map<string, number>();
    subscription = await new RabbitSubscriber(consumerConnection).subscribe(Routes.orderPayments, async (m) => {
      await sleep(1); // keep deliveries in flight, so some are unacknowledged when the drop comes
      handled.set(m.id, (handled.get(m.id) ?? 0) + 1);
    });
    const batches: OutgoingMessage[][] = Array.from({ length: 50 }, () =>
      Array.from({ length: 10 }, () => aPaymentRequest()),
    );
    let confirmed = 0;
    let rejected = 0;
    // As the relay does: a rejected batch is published again, whole, until it is confirmed.
    const publish = async (batch: OutgoingMessage[]): Promise<void> => {
      for (;;) {
        try {
          await publisher.publish(batch);
          confirmed += 1;
          return;
        } catch {
          rejected += 1;
          await sleep(20);
        }
      }
    };
    for (const batch of batches.slice(0, 20)) await publish(batch);
    const dropping = bed.vhost.dropConnections();
    for (const batch of batches.slice(20, 45)) {
      await publish(batch);
      await sleep(10);
    }
    await dropping;
    for (const batch of batches.slice(45)) await publish(batch);

    const ids = batches.flat().map((m) => m.envelope.id);
    await eventually(() => ids.every((id) => handled.has(id)), 30_000, 'every message to be handled');
    expect(confirmed).to.equal(50);
    expect(bed.events.filter((e) => e.type === 'disconnected')).to.have.length(2);
    expect(bed.events.filter((e) => e.type === 'connected').length).to.be.at.least(4);
    expect(await bed.queues.depth(`${Routes.orderPayments}.dlq`)).to.equal(0);
    // Shown in the test output: how the drop went this time.
    const repeats = [...handled.values()].filter((n) => n > 1).length;
    console.log(`      ${rejected} batch publishes rejected and repeated; ${repeats} messages handled more than once`);
  });

  it('consumes again after a drop, without being asked', async () => {
    const seen: string[] = [];
    subscription = await new RabbitSubscriber(bed.connection).subscribe(Routes.orderPayments, async (m) => {
      seen.push(m.id);
    });
    await bed.vhost.dropConnections();
    await eventually(() => bed.events.some((e) => e.type === 'disconnected'), 5_000, 'the drop');
    await eventually(() => bed.connection.isOpen, 10_000, 'the reconnect');
    const message = aPaymentRequest();
    await new RabbitPublisher(bed.connection).publish([message]);
    await eventually(() => seen.includes(message.envelope.id), 10_000, 'the delivery after reconnecting');
  });

  it('abandons a recovery that hangs and begins it again', async () => {
    const events: RabbitEvent[] = [];
    const connection = new RabbitConnection({
      url: bed.vhost.url,
      minBackoffMs: 50,
      maxBackoffMs: 200,
      recoveryTimeoutMs: 1_000,
      onEvent: (e) => events.push(e),
    });
    await connection.open();
    // The first recovery's hook never ends, as a call the broker never answers would not.
    let hung = false;
    const stop = connection.onReconnect(async () => {
      if (hung) return;
      hung = true;
      await new Promise<void>(() => undefined);
    });
    const publisher = new RabbitPublisher(connection);
    try {
      await bed.vhost.dropConnections();
      await eventually(
        () => events.some((e) => e.type === 'reconnect-failed' && /abandoned/.test(String(e.error))),
        10_000,
        'the hung recovery abandoned',
      );
      // The line says where it was stuck.
      const abandoned = events.find((e) => e.type === 'reconnect-failed' && /abandoned/.test(String(e.error)));
      expect(abandoned).to.deep.include({
        error: 'recovery not done in 1000 ms, stuck attaching consumers and publishers on node 0: abandoned',
      });
      await eventually(() => events.filter((e) => e.type === 'connected').length >= 3, 10_000, 'a recovery after it');
      await eventually(() => connection.isOpen, 10_000, 'the connection up');
      await publisher.publish([aPaymentRequest()]);
    } finally {
      stop();
      await publisher.close();
      await connection.close();
    }
  });

  it('gives up on a node that does not answer its topology declaration within its bound, rather than wait for ever', async () => {
    // A queue process that does not answer, as one on a cluster did not just after every
    // connection was closed: declaring the existing queue waits for it.
    const queue = `rabbit_misc:r(<<"${bed.vhost.name}">>, queue, <<"${Routes.orderPayments}">>)`;
    const onQueue = (call: string) =>
      rabbitmqctl('eval', `case rabbit_amqqueue:lookup(${queue}) of {ok, Q} -> sys:${call}(amqqueue:get_pid(Q)) end.`);
    await onQueue('suspend');
    // Should the open hang after all, the queue answers again before the test times out.
    const backstop = setTimeout(() => void onQueue('resume').catch(() => undefined), 20_000);
    const started = Date.now();
    try {
      const connection = new RabbitConnection({
        url: bed.vhost.url,
        topology: defaultTopology,
        declareTimeoutMs: 2_000,
      });
      const refused = await rejectionOf(connection.open());
      expect(String(refused)).to.match(/declaring the topology on node 0: no answer in 2000 ms/);
      expect(Date.now() - started).to.be.below(6_000);
    } finally {
      clearTimeout(backstop);
      await onQueue('resume');
    }
    // Answering again, the same declaration goes through.
    const connection = new RabbitConnection({ url: bed.vhost.url, topology: defaultTopology });
    await connection.open();
    await connection.close();
  });

  it('connects to the next node when one does not answer, and tells of the node passed over', async () => {
    const events: RabbitEvent[] = [];
    // Nothing listens on port 1: the first node of the list (node 0, as `connected` counts) refuses the connection.
    const url = `${bed.vhost.url.replace(/@[^/]+/, '@127.0.0.1:1')},${bed.vhost.url}`;
    const connection = new RabbitConnection({ url, topology: defaultTopology, onEvent: (e) => events.push(e) });
    try {
      await connection.open();
      expect(connection.node?.index).to.equal(1);
      const passedOver = events.find((e) => e.type === 'error');
      expect(passedOver).to.deep.include({ type: 'error', source: 'node 0' });
      expect(String(passedOver?.type === 'error' && passedOver.error)).to.match(/ECONNREFUSED/);
      expect(JSON.stringify(events)).to.not.match(/:guest@/);
    } finally {
      await connection.close();
    }
  });

  it('stops reconnecting once closed', async () => {
    const connection = await bed.connect({ minBackoffMs: 300 });
    await bed.connection.close();
    // The broker lists a closed connection for a moment after it is gone: wait for the count.
    await eventually(async () => (await connectionsTo(bed.vhost.name)) === 1, 30_000, 'one connection left');
    await bed.vhost.dropConnections();
    await eventually(() => !connection.isOpen, 5_000, 'the drop');
    await connection.close();
    await eventually(async () => (await connectionsTo(bed.vhost.name)) === 0, 30_000, 'no connection left');
    // Well past the reconnect backoff, still nobody came back.
    await sleep(1_000);
    expect(await connectionsTo(bed.vhost.name)).to.equal(0);
    expect(() => connection.current()).to.throw(/closed/);
  });

  it('tells of drops and reconnects without ever showing the password', async () => {
    await bed.vhost.dropConnections();
    await eventually(() => bed.events.filter((e) => e.type === 'connected').length >= 2, 10_000, 'the reconnect');
    const told = JSON.stringify(bed.events);
    expect(told).to.include('***');
    expect(told).not.to.include(':guest@');
  });
});
