import { expect } from 'chai';
import { DomainError, MAX_MESSAGE_ID, Routes, type MessageEnvelope } from '@gozon/core';
import {
  encodeMessage,
  MAX_HEADER_VALUE,
  MAX_HEADERS,
  type RetryPolicy,
  type Subscription,
  type WireMessage,
} from '@gozon/messaging';
import { aPaymentRequest, eventually, sleep, type BrokerFactory, type BrokerFixture } from './fixtures.js';

/** What a handler throws while a dependency (its database) is down. */
class DependencyDown extends Error {}

const retry: RetryPolicy = {
  maxAttempts: 3,
  baseDelayMs: 20,
  maxDelayMs: 100,
  isTransient: (err) => err instanceof DependencyDown,
};
const queue = Routes.orderPayments;

/** A well-formed payment request on the wire, changed by `change`. */
const wireOf = (change: (wire: WireMessage) => WireMessage): WireMessage =>
  change(encodeMessage(aPaymentRequest().envelope));

const withHeaders = (wire: WireMessage, extra: Record<string, unknown>): WireMessage => ({
  ...wire,
  properties: { ...wire.properties, headers: { ...wire.properties.headers, ...extra } },
});

/** `count` more headers, named apart. */
const manyHeaders = (count: number): Record<string, string> =>
  Object.fromEntries(Array.from({ length: count }, (_, i) => [`x-extra-${i}`, 'v']));

const withBody = (wire: WireMessage, json: string): WireMessage => ({ ...wire, body: new TextEncoder().encode(json) });

const bodyWithUser = (wire: WireMessage, userJson: string): WireMessage => {
  const body = JSON.parse(new TextDecoder().decode(wire.body)) as Record<string, unknown>;
  return withBody(wire, JSON.stringify({ ...body, user_id: 'placeholder' }).replace('"placeholder"', userJson));
};

const withId = (wire: WireMessage, id: string): WireMessage => ({
  ...wire,
  properties: { ...wire.properties, messageId: id },
});

const ownHeaderCount = Object.keys(encodeMessage(aPaymentRequest().envelope).properties.headers ?? {}).length;

/** Messages over a limit of the codec, each dead-lettered as malformed; and one just at it. */
const overLimits: [string, () => WireMessage][] = [
  ['a message id over the limit', () => wireOf((w) => withId(w, 'm'.repeat(MAX_MESSAGE_ID + 1)))],
  [
    'a header value over the limit',
    () => wireOf((w) => withHeaders(w, { 'x-note': 'a'.repeat(MAX_HEADER_VALUE + 1) })),
  ],
  ['more headers than the limit', () => wireOf((w) => withHeaders(w, manyHeaders(MAX_HEADERS + 1 - ownHeaderCount)))],
  ['a control character in a header', () => wireOf((w) => withHeaders(w, { tracestate: 'a=\u001b[2J' }))],
  ['U+0000 in a text field of the body', () => wireOf((w) => bodyWithUser(w, '"user\\u0000"'))],
  ['a lone surrogate in a text field of the body', () => wireOf((w) => bodyWithUser(w, '"user\\ud800"'))],
];
const atLimits: [string, () => WireMessage][] = [
  ['a message id at the limit', () => wireOf((w) => withId(w, 'm'.repeat(MAX_MESSAGE_ID)))],
  ['a header value at the limit', () => wireOf((w) => withHeaders(w, { 'x-note': 'a'.repeat(MAX_HEADER_VALUE) }))],
  ['as many headers as the limit', () => wireOf((w) => withHeaders(w, manyHeaders(MAX_HEADERS - ownHeaderCount)))],
];

/** How a broker hands messages out, where brokers differ by design. */
export interface BrokerTraits {
  /**
   * Hands a consumer one message at a time, in the order published, and so never a batch: the
   * direct bus, whose publish resolves only once the handler has committed. A queueing broker
   * (false) hands out up to its prefetch at once, and messages that wait together as a batch.
   */
  readonly oneAtATime?: boolean;
}

/** Publisher and subscriber: at-least-once delivery, bounded retries and dead-lettering. */
export const describeBrokerContract = (name: string, make: BrokerFactory, traits: BrokerTraits = {}): void => {
  describe(`broker contract: ${name}`, function () {
    this.timeout(20_000);
    let broker: BrokerFixture;
    let subscription: Subscription | undefined;
    beforeEach(async () => {
      broker = await make(retry);
    });
    afterEach(async () => {
      await subscription?.close();
      subscription = undefined;
      await broker.close();
    });

    it('delivers a published message with its id, type, correlation, time, body and headers', async () => {
      const message = aPaymentRequest();
      const causing = { ...message, envelope: { ...message.envelope, causationId: 'cause-1' } };
      const received: MessageEnvelope[] = [];
      subscription = await broker.subscriber.subscribe(queue, async (m) => {
        received.push(m);
      });
      await broker.publisher.publish([causing]);
      await eventually(() => received.length === 1, 5_000, 'the delivery');
      expect(received[0]).to.deep.equal(causing.envelope);
    });

    it('keeps messages published before anyone consumes, in order', async () => {
      const messages = Array.from({ length: 20 }, () => aPaymentRequest());
      await broker.publisher.publish(messages);
      const received: string[] = [];
      subscription = await broker.subscriber.subscribe(queue, async (m) => {
        received.push(m.id);
      });
      await eventually(() => received.length === 20, 5_000, '20 deliveries');
      expect([...received].sort()).to.deep.equal(messages.map((m) => m.envelope.id).sort());
    });

    if (traits.oneAtATime)
      describeOneAtATime(
        () => broker,
        (s) => (subscription = s),
      );
    else {
      it('hands out more than one message at a time (prefetch above 1)', async () => {
        let inFlight = 0;
        let most = 0;
        let handled = 0;
        subscription = await broker.subscriber.subscribe(queue, async () => {
          inFlight += 1;
          most = Math.max(most, inFlight);
          await sleep(30);
          inFlight -= 1;
          handled += 1;
        });
        await broker.publisher.publish(Array.from({ length: 10 }, () => aPaymentRequest()));
        await eventually(() => handled === 10, 5_000, '10 deliveries');
        expect(most).to.be.greaterThan(1);
      });

      it('hands messages that wait together to the batch handler in one call, and acknowledges them after it', async () => {
        const messages = Array.from({ length: 12 }, () => aPaymentRequest());
        await broker.publisher.publish(messages);
        const alone: string[] = [];
        const batches: string[][] = [];
        subscription = await broker.subscriber.subscribe(
          queue,
          async (m) => {
            await sleep(50);
            alone.push(m.id);
          },
          {
            batch: async (ms) => {
              await sleep(50);
              batches.push(ms.map((m) => m.id));
            },
          },
        );
        await eventually(() => alone.length + batches.flat().length === 12, 5_000, '12 messages handled');
        expect(batches.some((b) => b.length > 1)).to.equal(true, 'a batch of more than one');
        expect([...alone, ...batches.flat()].sort()).to.deep.equal(messages.map((m) => m.envelope.id).sort());
        await subscription.close();
        let again = 0;
        subscription = await broker.subscriber.subscribe(queue, async () => {
          again += 1;
        });
        await sleep(200);
        expect(again).to.equal(0, 'every message was acknowledged');
      });

      it('hands each message of a failed batch to the one-message handler, which settles it on its own', async () => {
        const messages = Array.from({ length: 12 }, () => aPaymentRequest());
        await broker.publisher.publish(messages);
        const alone: string[] = [];
        let failedBatches = 0;
        subscription = await broker.subscriber.subscribe(
          queue,
          async (m) => {
            await sleep(20);
            alone.push(m.id);
          },
          {
            batch: async () => {
              await sleep(20);
              failedBatches += 1;
              throw new Error('deadlock detected');
            },
          },
        );
        await eventually(() => alone.length === 12, 5_000, '12 messages handled alone');
        expect(failedBatches).to.be.greaterThan(0);
        expect([...alone].sort()).to.deep.equal(messages.map((m) => m.envelope.id).sort());
        await sleep(200);
        expect(alone).to.have.length(12, 'none handled twice');
        expect(await broker.deadLetters(queue)).to.deep.equal([]);
      });
    }

    it('retries a failing message and acknowledges it once it succeeds', async () => {
      const calls: number[] = [];
      subscription = await broker.subscriber.subscribe(queue, async () => {
        calls.push(Date.now());
        if (calls.length < 2) throw new Error('transient');
      });
      await broker.publisher.publish([aPaymentRequest()]);
      await eventually(() => calls.length === 2, 5_000, 'the retry');
      await sleep(200);
      expect(calls).to.have.length(2);
      expect(await broker.deadLetters(queue)).to.deep.equal([]);
    });

    it('retries through a dependency outage without using up attempts, then still retries a bug', async () => {
      let calls = 0;
      subscription = await broker.subscriber.subscribe(queue, async () => {
        calls += 1;
        // Twice the attempt limit of outage, then an ordinary failure on all but the last attempt.
        if (calls <= 2 * retry.maxAttempts) throw new DependencyDown('database unreachable');
        if (calls < 3 * retry.maxAttempts) throw new Error('a bug, fixed by the time of the last attempt');
      });
      await broker.publisher.publish([aPaymentRequest()]);
      await eventually(() => calls === 3 * retry.maxAttempts, 10_000, 'the last attempt');
      await sleep(200);
      expect(calls).to.equal(3 * retry.maxAttempts);
      expect(await broker.deadLetters(queue)).to.deep.equal([]);
    });

    it('dead-letters a message that keeps failing after the retry limit', async () => {
      const message = aPaymentRequest();
      let calls = 0;
      subscription = await broker.subscriber.subscribe(queue, async () => {
        calls += 1;
        throw new Error('always fails');
      });
      await broker.publisher.publish([message]);
      let dead: Awaited<ReturnType<BrokerFixture['deadLetters']>> = [];
      await eventually(
        async () => (dead = dead.concat(await broker.deadLetters(queue))).length === 1,
        5_000,
        'a dead letter',
      );
      expect(calls).to.equal(retry.maxAttempts);
      expect(dead[0]?.properties.messageId).to.equal(message.envelope.id);
    });

    it('dead-letters a malformed message at once and goes on with the next', async () => {
      const handled: string[] = [];
      subscription = await broker.subscriber.subscribe(queue, async (m) => {
        handled.push(m.id);
      });
      await broker.injectRaw(queue, {
        properties: {
          messageId: 'garbage-1',
          type: 'payment.requested',
          correlationId: 'x',
          contentType: 'application/json',
        },
        body: new TextEncoder().encode('{not json'),
      });
      const good = aPaymentRequest();
      await broker.publisher.publish([good]);
      await eventually(() => handled.length === 1, 5_000, 'the good message');
      expect(handled).to.deep.equal([good.envelope.id]);
      let dead: Awaited<ReturnType<BrokerFixture['deadLetters']>> = [];
      await eventually(
        async () => (dead = dead.concat(await broker.deadLetters(queue))).length === 1,
        5_000,
        'a dead letter',
      );
      expect(dead[0]?.properties.messageId).to.equal('garbage-1');
    });

    for (const [what, make] of overLimits) {
      it(`dead-letters as malformed a message with ${what}, unseen by the handler, and goes on`, async () => {
        const bad = make();
        const handled: string[] = [];
        subscription = await broker.subscriber.subscribe(queue, async (m) => {
          handled.push(m.id);
        });
        await broker.injectRaw(queue, bad);
        const good = aPaymentRequest();
        await broker.publisher.publish([good]);
        let dead: WireMessage[] = [];
        await eventually(
          async () => (dead = dead.concat(await broker.deadLetters(queue))).length === 1,
          5_000,
          'a dead letter',
        );
        await eventually(() => handled.length === 1, 5_000, 'the good message');
        expect(handled).to.deep.equal([good.envelope.id]);
        expect(dead[0]?.properties.messageId).to.equal(bad.properties.messageId);
      });
    }

    for (const [what, make] of atLimits) {
      it(`delivers a message with ${what}`, async () => {
        const wire = make();
        const handled: string[] = [];
        subscription = await broker.subscriber.subscribe(queue, async (m) => {
          handled.push(m.id);
        });
        await broker.injectRaw(queue, wire);
        await eventually(() => handled.length === 1, 5_000, 'the delivery');
        expect(handled).to.deep.equal([wire.properties.messageId]);
        expect(await broker.deadLetters(queue)).to.deep.equal([]);
      });
    }

    it('dead-letters at once a message its handler rejects as invalid', async () => {
      let calls = 0;
      subscription = await broker.subscriber.subscribe(queue, async () => {
        calls += 1;
        throw new DomainError('malformed_message', 'malformed_message', 'unknown type');
      });
      await broker.publisher.publish([aPaymentRequest()]);
      let dead: Awaited<ReturnType<BrokerFixture['deadLetters']>> = [];
      await eventually(
        async () => (dead = dead.concat(await broker.deadLetters(queue))).length === 1,
        5_000,
        'a dead letter',
      );
      expect(calls).to.equal(1);
    });

    it('finishes the message in hand on close and does not deliver it again', async () => {
      let started = 0;
      let finished = 0;
      subscription = await broker.subscriber.subscribe(queue, async () => {
        started += 1;
        await sleep(100);
        finished += 1;
      });
      await broker.publisher.publish([aPaymentRequest()]);
      await eventually(() => started === 1, 5_000, 'the delivery');
      await subscription.close();
      expect(finished).to.equal(1);
      let again = 0;
      subscription = await broker.subscriber.subscribe(queue, async () => {
        again += 1;
      });
      await sleep(200);
      expect(again).to.equal(0);
    });
  });
};

/** The other side of `BrokerTraits.oneAtATime`: one message in hand at a time, in order, never a batch. */
const describeOneAtATime = (broker: () => BrokerFixture, hold: (s: Subscription) => void): void => {
  it('hands out one message at a time, in the order published, each settled before the next', async () => {
    let inFlight = 0;
    let most = 0;
    const handled: string[] = [];
    const messages = Array.from({ length: 10 }, () => aPaymentRequest());
    const subscription = await broker().subscriber.subscribe(queue, async (m) => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      await sleep(10);
      inFlight -= 1;
      handled.push(m.id);
    });
    hold(subscription);
    await broker().publisher.publish(messages);
    await eventually(() => handled.length === 10, 5_000, '10 deliveries');
    expect(most).to.equal(1);
    expect(handled).to.deep.equal(messages.map((m) => m.envelope.id));
  });

  it('never calls the batch handler: each message goes to the one-message handler, once', async () => {
    const messages = Array.from({ length: 12 }, () => aPaymentRequest());
    const alone: string[] = [];
    let batches = 0;
    const subscription = await broker().subscriber.subscribe(
      queue,
      async (m) => {
        alone.push(m.id);
      },
      {
        batch: async () => {
          batches += 1;
        },
      },
    );
    hold(subscription);
    await broker().publisher.publish(messages);
    await eventually(() => alone.length === 12, 5_000, '12 messages handled alone');
    await sleep(200);
    expect(batches).to.equal(0);
    expect(alone).to.deep.equal(messages.map((m) => m.envelope.id));
    expect(await broker().deadLetters(queue)).to.deep.equal([]);
  });
};
