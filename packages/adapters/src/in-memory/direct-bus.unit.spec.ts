import { expect } from 'chai';
import { DomainError, Routes, type MessageEnvelope } from '@gozon/core';
import { PoisonMessage, type DeadLetter, type RetryPolicy } from '@gozon/messaging';
import { aPaymentRequest, eventually, rejectionOf, sleep } from '../contract/fixtures.js';
import { InMemoryDatabase } from './database.js';
import { InMemoryDeadLetterStore } from './dead-letter-store.js';
import { InMemoryDeliveryCounter } from './delivery-counter.js';
import { DirectBus } from './direct-bus.js';

class DatabaseDown extends Error {}

const retry: RetryPolicy = {
  maxAttempts: 3,
  baseDelayMs: 1,
  maxDelayMs: 1,
  isTransient: (err) => err instanceof DatabaseDown,
};

describe('direct bus: the embedded broker', () => {
  let letters: DeadLetter[];
  let retries: number;
  let bus: DirectBus;
  beforeEach(() => {
    letters = [];
    retries = 0;
    bus = new DirectBus(
      (letter) => letters.push(letter),
      () => (retries += 1),
      retry,
    );
  });

  it('resolves a publish only once the handler has finished', async () => {
    const seen: MessageEnvelope[] = [];
    await bus.subscribe(Routes.orderPayments, async (message) => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      seen.push(message);
    });
    const message = aPaymentRequest();
    await bus.publish([message]);
    expect(seen.map((m) => m.id)).to.deep.equal([message.envelope.id]);
  });

  it('dead-letters a message that keeps failing after the retry limit, so the ones behind it go on', async () => {
    const poison = aPaymentRequest();
    const next = aPaymentRequest();
    const handled: string[] = [];
    let calls = 0;
    await bus.subscribe(Routes.orderPayments, async (message) => {
      if (message.id === poison.envelope.id) {
        calls += 1;
        throw new Error('a bug');
      }
      handled.push(message.id);
    });
    // The relay publishes the batch again after each failure; it stays in the outbox meanwhile.
    for (let attempt = 1; attempt < retry.maxAttempts; attempt += 1) {
      expect(await rejectionOf(bus.publish([poison, next]))).to.be.instanceOf(Error);
    }
    expect(handled).to.deep.equal([]);
    await bus.publish([poison, next]);
    expect(calls).to.equal(retry.maxAttempts);
    expect(handled).to.deep.equal([next.envelope.id]);
    expect(letters.map((l) => l.message.properties.messageId)).to.deep.equal([poison.envelope.id]);
    expect(letters[0]?.reason).to.match(/gave up after 3 attempts/);
    expect(retries).to.equal(retry.maxAttempts - 1);
  });

  it('retries a failure while a database is down for as long as it lasts, without using up attempts', async () => {
    const message = aPaymentRequest();
    let calls = 0;
    await bus.subscribe(Routes.orderPayments, async () => {
      calls += 1;
      if (calls <= 10) throw new DatabaseDown('connection refused');
    });
    for (let i = 0; i < 10; i += 1) expect(await rejectionOf(bus.publish([message]))).to.be.instanceOf(DatabaseDown);
    await bus.publish([message]);
    expect(calls).to.equal(11);
    expect(letters).to.deep.equal([]);
  });

  it('dead-letters an invalid message at once', async () => {
    await bus.subscribe(Routes.orderPayments, async () => {
      throw new DomainError('malformed_message', 'malformed_message', 'no order_id');
    });
    await bus.publish([aPaymentRequest()]);
    expect(letters).to.have.length(1);
  });

  it('commits a dead letter to the store before the publish resolves; a store that fails fails the publish', async () => {
    const store = new InMemoryDeadLetterStore();
    let failing = true;
    const slowStore = {
      add: async (letter: DeadLetter) => {
        await sleep(20);
        if (failing) throw new Error('disk full');
        await store.add(letter);
      },
      list: () => store.list(),
      remove: (id: string) => store.remove(id),
    };
    await bus.guarded({ deadLetters: slowStore }).subscribe(Routes.orderPayments, async () => {
      throw new DomainError('malformed_message', 'malformed_message', 'no order_id');
    });
    const message = aPaymentRequest();
    // The message stays in the outbox: the relay publishes it again.
    expect(await rejectionOf(bus.publish([message]))).to.have.property('message', 'disk full');
    expect(letters).to.deep.equal([]);
    failing = false;
    await bus.publish([message]);
    const kept = await store.list();
    expect(kept.map((l) => [l.queue, l.message.properties.messageId, l.reason])).to.deep.equal([
      [Routes.orderPayments, message.envelope.id, 'no order_id'],
    ]);
    expect(await bus.deadLetters.list()).to.deep.equal([]);
  });
});

describe('direct bus: the poison guard across restarts', function () {
  this.timeout(10_000);
  const maxRedeliveries = 2;
  let counter: InMemoryDeliveryCounter;
  let store: InMemoryDeadLetterStore;
  let causes: unknown[];
  beforeEach(() => {
    counter = new InMemoryDeliveryCounter(new InMemoryDatabase());
    store = new InMemoryDeadLetterStore();
    causes = [];
  });

  /** One "process": a bus whose consumer never returns from the poison message, as a crash never does. */
  const start = async (handler: (m: MessageEnvelope) => Promise<void>): Promise<DirectBus> => {
    const bus = new DirectBus((_letter, cause) => causes.push(cause), undefined, retry);
    await bus
      .guarded({ deadLetters: store, poison: { counter, maxRedeliveries } })
      .subscribe(Routes.orderPayments, handler);
    return bus;
  };
  const crash = (): Promise<void> => new Promise<void>(() => undefined);

  it('dead-letters into the store, unhandled, a message that crashed its process more than maxRedeliveries times', async () => {
    const poison = aPaymentRequest();
    let calls = 0;
    for (let run = 1; run <= maxRedeliveries + 1; run += 1) {
      const bus = await start(async () => {
        calls += 1;
        return crash();
      });
      // The relay's publish never resolves: the process dies in it, and the row stays in the outbox.
      void bus.publish([poison]);
      await eventually(() => calls === run, 2_000, 'a handover');
    }
    const bus = await start(async () => {
      calls += 1;
    });
    await bus.publish([poison]);
    expect(calls).to.equal(maxRedeliveries + 1);
    const [kept, ...more] = await store.list();
    expect(more).to.deep.equal([]);
    expect(kept?.message.properties.messageId).to.equal(poison.envelope.id);
    expect(kept?.reason).to.equal(`dead-lettered as poison after ${maxRedeliveries + 1} redeliveries`);
    expect(causes).to.have.length(1);
    expect(causes[0])
      .to.be.instanceOf(PoisonMessage)
      .and.include({ redeliveries: maxRedeliveries + 1 });
  });

  it('counts a failure the process saw as a retry, not a redelivery', async () => {
    const message = aPaymentRequest();
    let calls = 0;
    const bus = await start(async () => {
      calls += 1;
      if (calls < retry.maxAttempts) throw new Error('not yet');
    });
    for (let i = 1; i < retry.maxAttempts; i += 1)
      expect(await rejectionOf(bus.publish([message]))).to.be.instanceOf(Error);
    await bus.publish([message]);
    expect(calls).to.equal(retry.maxAttempts);
    expect(await counter.count(Routes.orderPayments, message.envelope.id)).to.equal(2);
    expect(await store.list()).to.deep.equal([]);
  });

  it('does not charge a message that was in flight beside the poison one', async () => {
    const poison = aPaymentRequest();
    const slow = aPaymentRequest();
    const handled: string[] = [];
    let poisonCalls = 0;
    for (let run = 1; run <= maxRedeliveries + 1; run += 1) {
      let alive = true; // a crashed process does nothing more
      const bus = await start(async (m) => {
        if (m.id === poison.envelope.id) {
          poisonCalls += 1;
          alive = false;
          return crash();
        }
        await sleep(30);
        if (alive) handled.push(m.id);
      });
      // Two relay steps hand them over side by side; the slow one is in flight when the crash comes.
      void bus.publish([poison]);
      void bus.publish([slow]);
      await eventually(() => poisonCalls === run, 2_000, 'the poison message');
      await sleep(60);
    }
    expect(handled).to.deep.equal([]);
    const bus = await start(async (m) => void handled.push(m.id));
    await Promise.all([bus.publish([poison]), bus.publish([slow])]);
    expect(handled).to.deep.equal([slow.envelope.id]);
    expect((await store.list()).map((l) => l.message.properties.messageId)).to.deep.equal([poison.envelope.id]);
    // Charged once, for the first crash, when neither was known to be a suspect.
    expect(await counter.count(Routes.orderPayments, slow.envelope.id)).to.equal(3);
  });

  it('handles a message as usual when the counter fails', async () => {
    const down = {
      count: async () => Promise.reject(new Error('database down')),
      takeBack: async () => Promise.reject(new Error('database down')),
    };
    const errors: unknown[] = [];
    const bus = new DirectBus(undefined, undefined, retry, (_queue, err) => errors.push(err));
    const seen: string[] = [];
    await bus
      .guarded({ deadLetters: store, poison: { counter: down, maxRedeliveries: 0 } })
      .subscribe(Routes.orderPayments, async (m) => void seen.push(m.id));
    const message = aPaymentRequest();
    await bus.publish([message]);
    expect(seen).to.deep.equal([message.envelope.id]);
    expect(errors).to.have.length(1);
  });
});
