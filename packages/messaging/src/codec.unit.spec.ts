import { expect } from 'chai';
import {
  DomainError,
  type MessageEnvelope,
  parsePaymentOutcome,
  parsePaymentRequested,
  traceContextOf,
} from '@gozon/core';
import { decodeMessage, encodeMessage, isPermanentFailure, MAX_BODY_BYTES, MAX_HEADER_VALUE } from './codec.js';
import { decideOnFailure } from './retry-policy.js';

const payload = { order_id: '7d9f2b1e-9c55-4c43-9b1e-2f1f7c1d0a01', user_id: 'u1', amount: 10 };
const envelope: MessageEnvelope<typeof payload> = {
  id: 'b3c1a8f0-0000-4000-8000-000000000001',
  type: 'payment.requested',
  correlationId: '7d9f2b1e-9c55-4c43-9b1e-2f1f7c1d0a01',
  causationId: 'cause',
  occurredAt: '2026-01-01T00:00:00.123Z',
  payload,
  headers: { traceparent: '00-abc-def-01' },
};

describe('message codec and bodies', () => {
  it('carries the contract properties on the wire and comes back whole', () => {
    const wire = encodeMessage(envelope);
    expect(wire.properties).to.include({
      messageId: envelope.id,
      type: 'payment.requested',
      correlationId: envelope.correlationId,
      contentType: 'application/json',
      timestamp: Math.floor(Date.parse(envelope.occurredAt) / 1000),
    });
    expect(JSON.parse(new TextDecoder().decode(wire.body))).to.deep.equal(payload);
    expect(decodeMessage(wire)).to.deep.equal(envelope);
  });

  it('refuses a delivery without id, type or correlation, or with a body that is not JSON', () => {
    const wire = encodeMessage(envelope);
    const without = (key: string) => ({ ...wire, properties: { ...wire.properties, [key]: undefined } });
    for (const key of ['messageId', 'type', 'correlationId']) {
      expect(() => decodeMessage(without(key))).to.throw(DomainError);
    }
    expect(() => decodeMessage({ ...wire, body: new TextEncoder().encode('{oops') }))
      .to.throw(DomainError)
      .with.property('kind', 'malformed_message');
  });

  it('checks bodies exactly as the contract lists them', () => {
    expect(parsePaymentRequested('payment.requested', payload)).to.deep.equal(payload);
    expect(() => parsePaymentRequested('payment.succeeded', payload)).to.throw(DomainError);
    expect(() => parsePaymentRequested('payment.requested', { ...payload, amount: '10' })).to.throw(DomainError);
    expect(parsePaymentOutcome('payment.failed', { ...payload, reason: 'insufficient_funds' }).type).to.equal(
      'payment.failed',
    );
    expect(() => parsePaymentOutcome('payment.failed', { ...payload, reason: 'bored' })).to.throw(DomainError);
    expect(() => parsePaymentOutcome('payment.exploded', payload)).to.throw(DomainError);
  });

  it('dead-letters malformed messages at once and retries others with growing delay up to the limit', () => {
    const policy = { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 150 };
    const malformed = new DomainError('malformed_message', 'malformed_message', 'x');
    expect(isPermanentFailure(malformed)).to.equal(true);
    expect(decideOnFailure(malformed, 1, policy).action).to.equal('dead-letter');
    expect(decideOnFailure(new Error('db down'), 1, policy)).to.deep.equal({ action: 'retry', delayMs: 100 });
    expect(decideOnFailure(new Error('db down'), 2, policy)).to.deep.equal({ action: 'retry', delayMs: 150 });
    expect(decideOnFailure(new Error('db down'), 3, policy).action).to.equal('dead-letter');
  });

  it('keeps retrying, never dead-letters, a failure the policy calls transient (a dependency down)', () => {
    const down = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    const policy = {
      maxAttempts: 3,
      baseDelayMs: 100,
      maxDelayMs: 400,
      isTransient: (err: unknown) => (err as { code?: unknown }).code === 'ECONNREFUSED',
    };
    // Its own delay, growing with the waits so far; the attempts are not touched.
    expect(decideOnFailure(down, 1, policy)).to.deep.equal({ action: 'retry', delayMs: 100, transient: true });
    expect(decideOnFailure(down, 3, policy, 1)).to.deep.equal({ action: 'retry', delayMs: 200, transient: true });
    expect(decideOnFailure(down, 50, policy, 9)).to.deep.equal({ action: 'retry', delayMs: 400, transient: true });
    expect(decideOnFailure(new Error('bug'), 3, policy, 9).action).to.equal('dead-letter');
    // After an outage waited out, an ordinary failure still gets its retries.
    expect(decideOnFailure(new Error('bug'), 1, policy, 30)).to.deep.equal({ action: 'retry', delayMs: 100 });
    const malformed = new DomainError('malformed_message', 'malformed_message', 'x');
    expect(decideOnFailure(malformed, 1, { ...policy, isTransient: () => true }).action).to.equal('dead-letter');
  });

  describe('limits: what is over them is malformed, dead-lettered, never a crash', () => {
    const wire = encodeMessage(envelope);
    const malformed = (w: typeof wire): void => {
      expect(() => decodeMessage(w))
        .to.throw(DomainError)
        .with.property('kind', 'malformed_message');
    };
    const withHeader = (value: unknown) => ({
      ...wire,
      properties: { ...wire.properties, headers: { ...wire.properties.headers, 'x-extra': value } },
    });

    it('measures a header that is not a string as JSON, and refuses one it cannot measure', () => {
      expect(decodeMessage(withHeader(3)).headers).to.deep.equal(envelope.headers);
      malformed(withHeader({ nested: 'a'.repeat(MAX_HEADER_VALUE) }));
      malformed(withHeader(BigInt(1)));
    });

    it('refuses a type or correlation id that breaks the text rule or is over 200 characters', () => {
      malformed({ ...wire, properties: { ...wire.properties, type: 'payment.requested\u001b' } });
      malformed({ ...wire, properties: { ...wire.properties, correlationId: 'c'.repeat(201) } });
    });

    it('refuses a body over the limit, and one nested too deep to read, without throwing anything else', () => {
      malformed({ ...wire, body: new Uint8Array(MAX_BODY_BYTES + 1).fill(0x20) });
      malformed({ ...wire, body: new TextEncoder().encode('['.repeat(MAX_BODY_BYTES - 1)) });
      const deep = '['.repeat(5_000) + '"\\u0000"' + ']'.repeat(5_000);
      malformed({ ...wire, body: new TextEncoder().encode(deep) });
    });
  });

  it('passes on only the trace context of a message to those it causes', () => {
    const headers = { traceparent: 'tp', tracestate: 'ts', baggage: 'b', 'x-anything': 'y' };
    expect(traceContextOf(headers)).to.deep.equal({ traceparent: 'tp', tracestate: 'ts' });
    expect(traceContextOf({ other: 'x' })).to.deep.equal({});
    expect(traceContextOf(undefined)).to.deep.equal({});
  });
});
