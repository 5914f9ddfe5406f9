import { expect } from 'chai';
import { Routes, type MessageEnvelope } from '@gozon/core';
import type { DeliveryCounter } from '@gozon/messaging';
import { startRabbitCluster, type RabbitCluster } from '@gozon/testkit';
import { describeBrokerContract } from '../contract/index.js';
import { aPaymentRequest, eventually, sleep } from '../contract/fixtures.js';
import { createRabbitTestBed, type RabbitTestBed } from '../testing/rabbitmq.js';
import { RabbitDeadLetters } from './dead-letters.js';
import { RabbitPublisher } from './publisher.js';
import { RabbitSubscriber } from './subscriber.js';
import { deadLetterQueueOf, QUORUM_DELIVERY_LIMIT, type TopologyOptions } from './topology.js';

const queues = [Routes.orderPayments, Routes.paymentStatus];

// Three real nodes of the installed rabbitmq-server, started here (never skipped): quorum queues
// replicated on all three, and a connection that lists every node.
describe('RabbitMQ cluster: quorum queues on three nodes', function () {
  this.timeout(120_000);
  let cluster: RabbitCluster;

  before(async () => {
    cluster = await startRabbitCluster({ nodes: 3 });
    console.log(`      (three-node cluster started in ${cluster.startedInMs} ms)`);
  });
  after(async () => {
    await cluster?.stop();
  });

  const bedOn = (topology: Partial<TopologyOptions> = {}): Promise<RabbitTestBed> =>
    createRabbitTestBed({
      host: cluster.host,
      topology: { exchange: 'gozon', queues, queueType: 'quorum', ...topology },
    });

  describeBrokerContract('rabbitmq, quorum queues on a three-node cluster', async (retry) => {
    const bed = await bedOn({ retry });
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

  it('lists and replays dead letters of a quorum queue, and keeps them while listed', async () => {
    const bed = await bedOn();
    try {
      const message = aPaymentRequest();
      await new RabbitPublisher(bed.connection).publish([message]);
      const channel = await bed.connection.current().createChannel();
      const got = await channel.get(Routes.orderPayments);
      if (got === false) throw new Error('nothing on the queue');
      channel.nack(got, false, false); // dead-lettered, at least once, to the quorum DLQ
      await channel.close();
      const letters = new RabbitDeadLetters(bed.connection, queues);
      await eventually(async () => (await letters.list()).length === 1, 5_000, 'the dead letter');
      expect((await letters.list()).map((l) => l.message.properties.messageId)).to.deep.equal([message.envelope.id]);
      expect(await letters.replay(() => true)).to.deep.equal([message.envelope.id]);
      expect(await bed.queues.depth(deadLetterQueueOf(Routes.orderPayments))).to.equal(0);
      expect(await bed.queues.depth(Routes.orderPayments)).to.equal(1);
    } finally {
      await bed.close();
    }
  });

  it(`dead-letters a message returned more than ${QUORUM_DELIVERY_LIMIT} times (the backstop above the poison guard)`, async () => {
    const bed = await bedOn();
    try {
      const message = aPaymentRequest();
      await new RabbitPublisher(bed.connection).publish([message]);
      const channel = await bed.connection.current().createChannel();
      let returned = 0;
      for (
        let got = await channel.get(Routes.orderPayments);
        got !== false;
        got = await channel.get(Routes.orderPayments)
      ) {
        channel.nack(got, false, true); // back to the queue, as a consumer crash would
        returned += 1;
        if (returned > QUORUM_DELIVERY_LIMIT + 5) break;
      }
      await channel.close();
      expect(returned).to.equal(QUORUM_DELIVERY_LIMIT + 1);
      const letters = new RabbitDeadLetters(bed.connection, queues);
      await eventually(async () => (await letters.list()).length === 1, 5_000, 'the dead letter');
      expect((await letters.list())[0]).to.deep.include({ reason: 'delivery_limit' });
    } finally {
      await bed.close();
    }
  });

  it('retries without retry queues: waits out the delay in the consumer, and close sends a waiting retry back at once', async () => {
    const bed = await bedOn();
    const publisher = new RabbitPublisher(bed.connection);
    try {
      const calls = new Map<string, number[]>();
      const subscribe = (delayMs: number) =>
        new RabbitSubscriber(bed.connection, {
          retry: { maxAttempts: 3, baseDelayMs: delayMs, maxDelayMs: delayMs },
          prefetch: 20,
        }).subscribe(Routes.orderPayments, async (m: MessageEnvelope) => {
          calls.set(m.id, [...(calls.get(m.id) ?? []), Date.now()]);
          if (calls.get(m.id)?.length === 1) throw new Error('failing once on purpose');
        });
      const quick = aPaymentRequest();
      let subscription = await subscribe(300);
      await publisher.publish([quick]);
      await eventually(() => calls.get(quick.envelope.id)?.length === 2, 5_000, 'the retry');
      const [first, second] = calls.get(quick.envelope.id) as [number, number];
      expect(second - first).to.be.at.least(295);
      await subscription.close();

      const waiting = aPaymentRequest();
      subscription = await subscribe(30_000);
      await publisher.publish([waiting]);
      await eventually(() => calls.get(waiting.envelope.id)?.length === 1, 5_000, 'the first try');
      const closing = Date.now();
      await subscription.close();
      expect(Date.now() - closing).to.be.below(2_000);
      const copy = await bed.getRaw(Routes.orderPayments);
      expect(copy.properties.messageId).to.equal(waiting.envelope.id);
      expect(copy.properties.headers?.['x-gozon-attempts']).to.equal(2);
      expect(await bed.queues.depth(Routes.orderPayments)).to.equal(0);
      const names = await cluster.host.ctl('list_queues', '-p', bed.vhost.name, 'name');
      expect(names).to.include(Routes.orderPayments).and.not.include('.retry.');
    } finally {
      await publisher.close();
      await bed.close();
    }
  });

  it('lets the next redelivered message take its turn while a failed one waits out its retry', async () => {
    const bed = await bedOn();
    const publisher = new RabbitPublisher(bed.connection);
    try {
      await publisher.publish([aPaymentRequest(), aPaymentRequest()]);
      // Taken and never acknowledged: closing the channel gives both back, redelivered.
      const channel = await bed.connection.current().createChannel();
      for (let i = 0; i < 2; i += 1) if ((await channel.get(Routes.orderPayments)) === false) throw new Error('empty');
      await channel.close();
      const counts = new Map<string, number>();
      const counter: DeliveryCounter = {
        count: async (_consumer, id) => {
          counts.set(id, (counts.get(id) ?? 0) + 1);
          return counts.get(id) as number;
        },
        takeBack: async () => undefined,
      };
      const firstTries = new Map<string, number>();
      const subscription = await new RabbitSubscriber(bed.connection, {
        retry: { maxAttempts: 3, baseDelayMs: 5_000, maxDelayMs: 5_000 },
        prefetch: 20,
      })
        .withPoisonGuard({ counter, maxRedeliveries: 5 })
        .subscribe(Routes.orderPayments, async (m: MessageEnvelope) => {
          if (firstTries.has(m.id)) return;
          firstTries.set(m.id, Date.now());
          throw new Error('failing once on purpose');
        });
      // Redelivered messages are screened one at a time; a failed one's 5 s wait is not its turn.
      await eventually(() => firstTries.size === 2, 3_000, 'both redelivered messages tried');
      expect([...counts.values()]).to.deep.equal([1, 1]);
      await subscription.close();
    } finally {
      await publisher.close();
      await bed.close();
    }
  });

  it('confirms nothing while a majority of the nodes is down, and delivers everything once it is back', async () => {
    const bed = await bedOn();
    const publisher = new RabbitPublisher(bed.connection);
    const received = new Set<string>();
    const subscription = await new RabbitSubscriber(bed.connection, { prefetch: 20 }).subscribe(
      Routes.orderPayments,
      async (m: MessageEnvelope) => void received.add(m.id),
    );
    const others = [0, 1, 2].filter((i) => i !== bed.connection.node?.index);
    try {
      const before = Array.from({ length: 10 }, () => aPaymentRequest());
      await publisher.publish(before);
      for (const i of others) await cluster.kill(i);
      // One node of three: a quorum queue cannot commit, so a confirm, which means a majority
      // has the message, must not come; the publish waits (or fails and is sent again, as the
      // relay would).
      const during = Array.from({ length: 10 }, () => aPaymentRequest());
      let confirmedAt: number | null = null;
      let failures = 0;
      const publishing = (async () => {
        for (;;) {
          try {
            await publisher.publish(during);
            confirmedAt = Date.now();
            return;
          } catch {
            failures += 1;
            await sleep(200);
          }
        }
      })();
      await sleep(5_000);
      expect(confirmedAt, 'confirmed with a majority down').to.equal(null);
      const restarted = Date.now();
      await cluster.restart(others.shift() as number);
      await publishing;
      const all = [...before, ...during].map((m) => m.envelope.id);
      await eventually(() => all.every((id) => received.has(id)), 60_000, 'every message consumed');
      console.log(
        `      (two nodes killed: nothing confirmed for 5 s, ${failures} publish(es) failed; ` +
          `confirmed ${((confirmedAt ?? 0) - restarted) / 1000} s after one node was started again)`,
      );
    } finally {
      await subscription.close();
      await publisher.close();
      await bed.close();
      for (const i of others) await cluster.restart(i).catch(() => undefined);
    }
  });

  it('moves to another node when its node is killed, and loses no confirmed message', async () => {
    const bed = await bedOn();
    const publisher = new RabbitPublisher(bed.connection);
    const received = new Map<string, number>();
    const failedOnce = new Set<string>();
    const subscription = await new RabbitSubscriber(bed.connection, { prefetch: 20 }).subscribe(
      Routes.orderPayments,
      async (m: MessageEnvelope) => {
        // About a quarter fail their first try, so retries are under way when the node dies.
        if (/[0-3]$/.test(m.id) && !failedOnce.has(m.id)) {
          failedOnce.add(m.id);
          throw new Error('failing once on purpose');
        }
        received.set(m.id, (received.get(m.id) ?? 0) + 1);
      },
    );
    const confirmed: string[] = [];
    let failedPublishes = 0;
    let lastError = '';
    /** Publishes batches of 10 until `count` more are confirmed; a failed batch is sent again, as the relay does. */
    const publish = async (count: number): Promise<void> => {
      const deadline = Date.now() + 30_000;
      for (let target = confirmed.length + count; confirmed.length < target;) {
        if (Date.now() > deadline) throw new Error(`no batch confirmed for 30 s; the last failure: ${lastError}`);
        const batch = Array.from({ length: 10 }, () => aPaymentRequest());
        try {
          await publisher.publish(batch);
          confirmed.push(...batch.map((m) => m.envelope.id));
        } catch (err) {
          lastError = String(err);
          failedPublishes += 1;
          await sleep(50);
        }
      }
    };
    try {
      const before = bed.connection.node;
      expect(before, 'connected').to.not.equal(null);
      const victim = before?.index as number;
      await publish(200);
      await cluster.kill(victim);
      const killedAt = Date.now();
      await publish(10);
      const failoverMs = Date.now() - killedAt;
      await publish(190);
      await eventually(() => confirmed.every((id) => received.has(id)), 60_000, 'every confirmed message consumed');
      const after = bed.connection.node;
      console.log(
        `      (node ${victim} killed: first confirmed publish ${failoverMs} ms later, on node ${after?.index}; ` +
          `${failedPublishes} batch(es) failed meanwhile; ${failedOnce.size} retried once; ` +
          `${[...received.values()].filter((n) => n > 1).length} handled twice)`,
      );
      expect(after?.index).to.be.a('number').and.not.equal(victim);
      expect(bed.events.some((e) => e.type === 'disconnected')).to.equal(true);
      expect(confirmed).to.have.length(400);
      expect(failedOnce.size).to.be.greaterThan(0);
      for (const event of bed.events) expect(JSON.stringify(event)).to.not.include(':guest@');
      await cluster.restart(victim);
    } finally {
      await subscription.close();
      await publisher.close();
      await bed.close();
    }
  });
});
