import { expect } from 'chai';
import { Routes, type MessageEnvelope } from '@gozon/core';
import { encodeMessage, PoisonMessage } from '@gozon/messaging';
import { aPaymentRequest, eventually, sleep } from '../contract/index.js';
import { InMemoryBroker } from './broker.js';
import { InMemoryDatabase } from './database.js';
import { InMemoryDeliveryCounter } from './delivery-counter.js';
import { InMemorySubscriber } from './messaging.js';

const queue = Routes.orderPayments;
const dlq = `${queue}.dlq`;

describe('poison guard on the in-memory broker', function () {
  this.timeout(10_000);
  const maxRedeliveries = 2;
  let broker: InMemoryBroker;
  let counter: InMemoryDeliveryCounter;
  let failures: unknown[];
  beforeEach(() => {
    broker = new InMemoryBroker();
    broker.declareQueue(queue);
    counter = new InMemoryDeliveryCounter(new InMemoryDatabase());
    failures = [];
  });

  /** One "process": a guarded subscriber whose handler never returns from the poison message. */
  const run = (handler: (m: MessageEnvelope) => Promise<void>) =>
    new InMemorySubscriber(broker, {
      prefetch: 10,
      poison: { counter, maxRedeliveries },
      onFailure: (err) => failures.push(err),
    }).subscribe(queue, handler);

  const crash = () => new Promise<void>(() => undefined);

  it('dead-letters a message that crashed its consumer more than maxRedeliveries times, unhandled', async () => {
    const poison = aPaymentRequest();
    const calls: string[] = [];
    broker.publish(queue, encodeMessage(poison.envelope));
    for (let crashes = 1; broker.depth(dlq) === 0; crashes += 1) {
      expect(crashes).to.be.at.most(maxRedeliveries + 2);
      await run(async (m) => {
        calls.push(m.id);
        if (m.id === poison.envelope.id) return crash();
      });
      await eventually(() => calls.length === crashes || broker.depth(dlq) === 1, 2_000, 'a delivery');
      if (broker.depth(dlq) === 0) broker.crashConsumers(queue);
    }
    expect(calls).to.have.length(maxRedeliveries + 1);
    const [dead] = broker.take(dlq);
    expect(dead?.properties.messageId).to.equal(poison.envelope.id);
    expect(failures).to.have.length(1);
    expect(failures[0])
      .to.be.instanceOf(PoisonMessage)
      .and.include({ redeliveries: maxRedeliveries + 1 });

    const after = aPaymentRequest();
    broker.publish(queue, encodeMessage(after.envelope));
    await eventually(() => calls.includes(after.envelope.id), 2_000, 'the next message');
  });

  it('does not dead-letter a slow message that was in flight beside the poison one', async () => {
    const slow = aPaymentRequest();
    const poison = aPaymentRequest();
    const handled: string[] = [];
    let poisonCalls = 0;
    broker.publish(queue, encodeMessage(slow.envelope));
    broker.publish(queue, encodeMessage(poison.envelope));
    for (let crashes = 1; broker.depth(dlq) === 0 || !handled.includes(slow.envelope.id); crashes += 1) {
      expect(crashes).to.be.at.most(maxRedeliveries + 3);
      let alive = true; // a crashed process does nothing more
      await run(async (m) => {
        if (m.id === poison.envelope.id) {
          poisonCalls += 1;
          return crash();
        }
        await sleep(30);
        if (alive) handled.push(m.id);
      });
      await eventually(() => poisonCalls === crashes || broker.depth(dlq) === 1, 2_000, 'the poison message');
      if (broker.depth(dlq) === 1) await eventually(() => handled.includes(slow.envelope.id), 2_000, 'the slow one');
      else {
        alive = false;
        broker.crashConsumers(queue);
      }
    }
    expect(handled).to.deep.equal([slow.envelope.id]);
    expect(broker.take(dlq).map((m) => m.properties.messageId)).to.deep.equal([poison.envelope.id]);
    expect(poisonCalls).to.be.at.most(maxRedeliveries + 1);
  });

  it('handles redeliveries as usual when the counter fails', async () => {
    const message = aPaymentRequest();
    const calls: string[] = [];
    const down = {
      count: async () => Promise.reject(new Error('database down')),
      takeBack: async () => Promise.reject(new Error('database down')),
    };
    broker.publish(queue, encodeMessage(message.envelope));
    for (let run = 1; run <= 4; run += 1) {
      await new InMemorySubscriber(broker, { poison: { counter: down, maxRedeliveries: 0 } }).subscribe(
        queue,
        async (m) => {
          calls.push(m.id);
          if (run < 4) return crash();
        },
      );
      await eventually(() => calls.length === run, 2_000, 'a delivery');
      if (run < 4) broker.crashConsumers(queue);
    }
    await eventually(() => broker.isIdle(), 2_000, 'the ack');
    expect(broker.depth(dlq)).to.equal(0);
  });
});
