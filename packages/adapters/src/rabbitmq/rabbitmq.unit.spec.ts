import { expect } from 'chai';
import { decideOnFailure, defaultRetryPolicy } from '@gozon/messaging';
import { redactUrl, scrubError } from './redact.js';
import { retryDelays, retryQueueOf } from './topology.js';
import { fromAmqp, publishOptions } from './wire.js';
import type { Message } from 'amqplib';

describe('rabbitmq helpers', () => {
  it('masks the password of an AMQP URL and keeps the rest', () => {
    expect(redactUrl('amqp://gozon:s3cr%40t@rabbit:5672/prod')).to.equal('amqp://gozon:***@rabbit:5672/prod');
    expect(redactUrl('amqp://rabbit')).to.equal('amqp://rabbit');
    expect(redactUrl('not a url :s3cret')).not.to.include('s3cret');
  });

  it('scrubs the password out of error messages', () => {
    expect(scrubError(new Error('failed on amqp://u:s3cr@t@h'), 'amqp://u:s3cr%40t@h')).to.equal(
      'failed on amqp://u:***@h',
    );
  });

  it('has a retry queue for every delay the policy can ask for', () => {
    const delays = retryDelays(defaultRetryPolicy);
    expect(delays).to.deep.equal([200, 400, 800, 1600]);
    for (let attempt = 1; attempt < defaultRetryPolicy.maxAttempts; attempt += 1) {
      const decision = decideOnFailure(new Error('x'), attempt, defaultRetryPolicy);
      expect(decision.action === 'retry' && delays.includes(decision.delayMs)).to.equal(true);
    }
    expect(retryDelays({ maxAttempts: 6, baseDelayMs: 100, maxDelayMs: 300 })).to.deep.equal([100, 200, 300]);
    const transient = { ...defaultRetryPolicy, isTransient: () => true };
    expect(retryDelays(transient)).to.deep.equal([200, 400, 800, 1600, 3200, 6400, 10_000]);
    for (let attempt = 1; attempt < 20; attempt += 1) {
      const decision = decideOnFailure(new Error('x'), attempt, transient);
      expect(decision.action === 'retry' && retryDelays(transient).includes(decision.delayMs)).to.equal(true);
    }
    expect(retryQueueOf('order.payments', 200)).to.equal('order.payments.retry.200ms');
  });

  it('drops the broker’s dead-lettering headers and keeps the message’s own', () => {
    const message = {
      content: Buffer.from('{}'),
      fields: {},
      properties: {
        messageId: 'm-1',
        headers: {
          traceparent: 't',
          'x-gozon-attempts': 2,
          'x-death': [{}],
          'x-first-death-queue': 'q',
          'x-last-death-reason': 'expired',
        },
      },
    } as unknown as Message;
    const wire = fromAmqp(message);
    expect(wire.properties.headers).to.deep.equal({ traceparent: 't', 'x-gozon-attempts': 2 });
    expect(publishOptions(wire)).to.deep.include({ persistent: true, messageId: 'm-1' });
  });
});
