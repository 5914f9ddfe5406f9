import { expect } from 'chai';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { trace } from '@opentelemetry/api';
import { pino } from 'pino';
import {
  ApplyPaymentOutcome,
  DomainError,
  MessageTypes,
  Routes,
  type MessageEnvelope,
  type OrderSettled,
  type OutgoingMessage,
} from '@gozon/core';
import { InMemorySystem, InMemoryUnitOfWork } from '@gozon/adapters/in-memory';
import { createOrdersApp } from '../orders/orders-app.js';
import { handleBatchWithTelemetry, handleWithTelemetry } from './message-telemetry.js';
import { MeasuredPublisher } from './measured-publisher.js';
import { ServiceMetrics } from './metrics.js';
import { requestTelemetry } from './request-telemetry.js';
import { authenticate } from '../auth/bearer.js';
import { installTracing } from './tracing.js';

/** A pino logger whose lines land in `lines`, parsed. */
const capture = () => {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { lines, log: pino({ level: 'debug' }, stream) };
};

const parent = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7' };
const traceparent = `00-${parent.traceId}-${parent.spanId}-01`;
const idOf = (header: string | undefined) => header?.split('-');

const metricsFor = (service = 'orders') =>
  new ServiceMetrics(service, { outbox: async () => ({ pending: 2, oldestAgeSeconds: 1.5 }) });

describe('observability units: telemetry and metrics', () => {
  before(() => installTracing('gozon-unit'));

  describe('request telemetry', () => {
    let system: InMemorySystem;
    let server: Server;
    let base = '';
    const { lines, log } = capture();
    const observed: { method: string; route: string; status: number }[] = [];

    before(async () => {
      system = new InMemorySystem();
      const app = createOrdersApp(system, {
        ready: async () => true,
        logError: () => undefined,
        authenticate: authenticate(null),
        telemetry: requestTelemetry({ log, tracer: trace.getTracer('test'), observe: (r) => observed.push(r) }),
      });
      server = createServer(app.callback());
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(async () => {
      await new Promise((resolve) => server.close(resolve));
    });

    it('logs one line per request with the route pattern, status, duration, request id and trace ids', async () => {
      lines.length = 0;
      const id = globalThis.crypto.randomUUID();
      const res = await fetch(`${base}/orders/${id}`, { headers: { 'x-request-id': 'req-1', traceparent } });
      expect(res.status).to.equal(404);
      expect(res.headers.get('x-request-id')).to.equal('req-1');
      expect(lines).to.have.length(1);
      const [line] = lines;
      expect(line).to.include({
        msg: 'request',
        method: 'GET',
        route: '/orders/:id',
        path: `/orders/${id}`,
        status: 404,
        request_id: 'req-1',
        trace_id: parent.traceId,
      });
      expect(line!['span_id'])
        .to.match(/^[0-9a-f]{16}$/)
        .and.not.equal(parent.spanId);
      expect(line!['duration_ms']).to.be.a('number').and.at.least(0);
      expect(observed.at(-1)).to.include({ method: 'GET', route: '/orders/:id', status: 404 });
    });

    it('makes up a request id and a trace when the caller sends none, and labels unknown paths as unmatched', async () => {
      lines.length = 0;
      const res = await fetch(`${base}/nowhere/at/all`);
      expect(res.status).to.equal(404);
      const requestId = res.headers.get('x-request-id');
      expect(requestId).to.match(/^[0-9a-f-]{36}$/);
      expect(lines[0]).to.include({ route: 'unmatched', request_id: requestId, status: 404 });
      expect(lines[0]!['trace_id'])
        .to.match(/^[0-9a-f]{32}$/)
        .and.not.equal(parent.traceId);
    });

    it('puts the request span, in the same trace, on the payment request in the outbox', async () => {
      lines.length = 0;
      const res = await fetch(`${base}/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', traceparent },
        body: JSON.stringify({ user_id: 'u1', amount: 5 }),
      });
      expect(res.status).to.equal(201);
      const order = (await res.json()) as { id: string };
      const row = [...system.ordersDb.outbox.values()].find((r) => r.envelope.correlationId === order.id);
      const [, traceId, spanId] = idOf(row?.envelope.headers['traceparent']) ?? [];
      expect(traceId).to.equal(parent.traceId);
      expect(spanId).to.equal(lines[0]!['span_id']);
    });
  });

  describe('message telemetry', () => {
    const request: MessageEnvelope = {
      id: 'm-1',
      type: MessageTypes.paymentRequested,
      correlationId: 'order-1',
      occurredAt: new Date(0).toISOString(),
      payload: {},
      headers: { traceparent, other: 'kept' },
    };

    it('continues the trace in a child span whose context the use case gets to send on', async () => {
      const { lines, log } = capture();
      const seen: MessageEnvelope[] = [];
      const observed: { type: string; outcome: string; seconds: number }[] = [];
      const handler = handleWithTelemetry(
        { queue: Routes.orderPayments, log, tracer: trace.getTracer('test'), observe: (m) => observed.push(m) },
        async (message) => {
          seen.push(message);
          return 'charged';
        },
      );
      await handler(request);
      const [, traceId, spanId] = idOf(seen[0]?.headers['traceparent']) ?? [];
      expect(traceId).to.equal(parent.traceId);
      expect(spanId)
        .to.match(/^[0-9a-f]{16}$/)
        .and.not.equal(parent.spanId);
      expect(seen[0]?.headers['other']).to.equal('kept');
      expect(lines).to.have.length(1);
      expect(lines[0]).to.include({
        msg: 'message handled',
        type: 'payment.requested',
        message_id: 'm-1',
        correlation_id: 'order-1',
        outcome: 'charged',
        trace_id: parent.traceId,
        span_id: spanId,
      });
      expect(observed).to.deep.equal([
        { type: 'payment.requested', outcome: 'charged', seconds: observed[0]!.seconds },
      ]);
    });

    it('rethrows a failure, telling whether it is retried (failed) or dead-lettered (rejected)', async () => {
      const { lines, log } = capture();
      const outcomes: string[] = [];
      const failing = (err: Error) =>
        handleWithTelemetry(
          {
            queue: Routes.orderPayments,
            log,
            tracer: trace.getTracer('test'),
            observe: (m) => outcomes.push(m.outcome),
          },
          async () => Promise.reject(err),
        );
      const transient = new Error('db down');
      const permanent = new DomainError('malformed_message', 'malformed_message', 'bad');
      expect(await failing(transient)(request).catch((e: unknown) => e)).to.equal(transient);
      expect(await failing(permanent)(request).catch((e: unknown) => e)).to.equal(permanent);
      expect(outcomes).to.deep.equal(['failed', 'rejected']);
      expect(lines.map((l) => [l['level'], l['outcome'], l['err']])).to.deep.equal([
        [40, 'failed', 'db down'],
        [40, 'rejected', 'bad'],
      ]);
    });

    it('handles a batch with a span of its own for each message, logged after the commit, one line each', async () => {
      const { lines, log } = capture();
      const second: MessageEnvelope = { ...request, id: 'm-2', correlationId: 'order-2', headers: {} };
      const seen: MessageEnvelope[] = [];
      const observed: string[] = [];
      const handler = handleBatchWithTelemetry(
        { queue: Routes.orderPayments, log, tracer: trace.getTracer('test'), observe: (m) => observed.push(m.outcome) },
        async (messages) => {
          seen.push(...messages);
          expect(lines).to.have.length(0, 'nothing logged before the batch committed');
          return ['charged', 'duplicate'];
        },
      );
      await handler([request, second]);
      const [, traceId, spanId] = idOf(seen[0]?.headers['traceparent']) ?? [];
      const [, otherTrace, otherSpan] = idOf(seen[1]?.headers['traceparent']) ?? [];
      expect(traceId).to.equal(parent.traceId);
      expect(otherTrace)
        .to.match(/^[0-9a-f]{32}$/)
        .and.not.equal(parent.traceId);
      expect(seen[0]?.headers['other']).to.equal('kept');
      expect(lines.map((l) => [l['msg'], l['message_id'], l['outcome'], l['batch'], l['span_id']])).to.deep.equal([
        ['message handled', 'm-1', 'charged', 2, spanId],
        ['message handled', 'm-2', 'duplicate', 2, otherSpan],
      ]);
      expect(observed).to.deep.equal(['charged', 'duplicate']);
    });

    it('logs nothing for a failed batch and rethrows: each message is then handled, and logged, alone', async () => {
      const { lines, log } = capture();
      const observed: string[] = [];
      const failure = new Error('deadlock detected');
      const handler = handleBatchWithTelemetry(
        { queue: Routes.orderPayments, log, tracer: trace.getTracer('test'), observe: (m) => observed.push(m.outcome) },
        async () => Promise.reject(failure),
      );
      expect(await handler([request, { ...request, id: 'm-2' }]).catch((e: unknown) => e)).to.equal(failure);
      expect(lines).to.deep.equal([]);
      expect(observed).to.deep.equal([]);
    });
  });

  describe('metrics', () => {
    const batch: OutgoingMessage[] = ['a', 'b', 'c'].map((id) => ({
      routingKey: Routes.orderPayments,
      envelope: { id, type: 't', correlationId: 'c', occurredAt: '', payload: {}, headers: {} },
    }));

    it('measures publish batches: size, latency by result, and what the broker confirmed', async () => {
      const metrics = metricsFor();
      let fail = true;
      const publisher = new MeasuredPublisher(
        {
          publish: async () => {
            if (fail) throw new Error('broker away');
          },
        },
        metrics,
      );
      expect(await publisher.publish(batch).catch((e: unknown) => (e as Error).message)).to.equal('broker away');
      fail = false;
      await publisher.publish(batch);
      const text = await metrics.exposition();
      expect(text).to.contain('gozon_outbox_publish_batch_size_count{service="orders"} 2');
      expect(text).to.contain('gozon_outbox_publish_batch_size_sum{service="orders"} 6');
      expect(text).to.contain('gozon_outbox_publish_duration_seconds_count{service="orders",result="error"} 1');
      expect(text).to.contain('gozon_outbox_publish_duration_seconds_count{service="orders",result="ok"} 1');
      expect(text).to.contain('gozon_messages_published_total{routing_key="order.payments",service="orders"} 3');
    });

    it('computes the outbox gauges on scrape, with one query for both, and NaN when the source fails', async () => {
      let calls = 0;
      let broken = false;
      const metrics = new ServiceMetrics('payments', {
        outbox: async () => {
          calls += 1;
          if (broken) throw new Error('db down');
          return { pending: 4, oldestAgeSeconds: 2.5 };
        },
      });
      const text = await metrics.exposition();
      expect(text).to.contain('gozon_outbox_pending_messages{service="payments"} 4');
      expect(text).to.contain('gozon_outbox_oldest_pending_age_seconds{service="payments"} 2.5');
      expect(text).to.contain('process_cpu_user_seconds_total{service="payments"}');
      expect(calls).to.equal(1);
      broken = true;
      await new Promise((resolve) => setTimeout(resolve, 5));
      // prom-client writes "Nan", which Prometheus reads as NaN.
      expect(await metrics.exposition()).to.match(/gozon_outbox_oldest_pending_age_seconds\{service="payments"\} NaN/i);
    });

    it('hears of each order settled, after the commit, from the use case', async () => {
      const system = new InMemorySystem();
      const placed = await system.placeOrder.execute({ caller: null, userId: 'u1', amount: 7 });
      const settled: OrderSettled[] = [];
      const apply = new ApplyPaymentOutcome(
        new InMemoryUnitOfWork(system.ordersDb),
        { now: () => new Date(Date.parse(placed.created_at) + 1_500) },
        (order) => settled.push(order),
      );
      const outcome: MessageEnvelope = {
        id: 'outcome-1',
        type: MessageTypes.paymentSucceeded,
        correlationId: placed.id,
        occurredAt: new Date().toISOString(),
        payload: { order_id: placed.id, user_id: 'u1', amount: 7 },
        headers: {},
      };
      expect(await apply.execute(outcome)).to.equal('applied');
      expect(await apply.execute(outcome)).to.equal('duplicate');
      expect(settled).to.have.length(1);
      expect(settled[0]!.status).to.equal('FINISHED');
      expect(settled[0]!.updatedAt.getTime() - settled[0]!.createdAt.getTime()).to.equal(1_500);
    });
  });
});
