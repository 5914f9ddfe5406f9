import { trace } from '@opentelemetry/api';
import {
  isDomainError,
  MessageTypes,
  Routes,
  type MessageEnvelope,
  type OrderSettled,
  type AskedAgain,
} from '@gozon/core';
import { PoisonMessage, type BatchHandler, type MessageHandler, type MessagePublisher } from '@gozon/messaging';
import { PgOrderQueries, PgOutboxStore } from '@gozon/adapters/postgres';
import type { Middleware } from 'koa';
import type { Logger } from 'pino';
import type { ServiceName } from '../container/modules.js';
import type { Infrastructure } from '../runtime/infrastructure.js';
import { handleBatchWithTelemetry, handleWithTelemetry } from './message-telemetry.js';
import { MeasuredPublisher } from './measured-publisher.js';
import { ServiceMetrics } from './metrics.js';
import { requestTelemetry } from './request-telemetry.js';

/** Everything a service's composition root plugs in to be measured, logged and traced. */
export interface ServiceTelemetry {
  readonly metrics: ServiceMetrics;
  /** The queue the service consumes. */
  readonly queue: string;
  /** The outermost HTTP middleware: request id, server span, log line, request histogram. */
  readonly requests: Middleware;
  /** `GET /metrics`. */
  scrape(): Promise<{ contentType: string; body: string }>;
  /** The relay's publisher, measured. */
  publisher(inner: MessagePublisher): MessagePublisher;
  /** The consumer's handler around its use case: consumer span, log line, handling histogram. */
  handler(execute: (message: MessageEnvelope) => Promise<string>): MessageHandler;
  /** The same around the use case's batch form: one transaction for several messages. */
  batchHandler(executeAll: (messages: readonly MessageEnvelope[]) => Promise<string[]>): BatchHandler;
  /** For `ApplyPaymentOutcome`: how long the order took to settle. */
  onOrderSettled(order: OrderSettled): void;
  /** Told of the orders a reconcile sweep asked again for their payment (orders service). */
  onAskedAgain(asked: readonly AskedAgain[]): void;
}

/** The queue a service consumes: each service hears what the other one publishes. */
const queueOf = (service: ServiceName): string => (service === 'orders' ? Routes.paymentStatus : Routes.orderPayments);

/** The service's registry, with gauges read from its database and broker at scrape time. */
const measure = (service: ServiceName, infra: Infrastructure, log: Logger): ServiceMetrics => {
  const queue = queueOf(service);
  const metrics = new ServiceMetrics(service, {
    outbox: () => new PgOutboxStore(infra.db).stats(),
    awaitingOutcome: service === 'orders' ? () => new PgOrderQueries(infra.db).awaitingOutcome() : undefined,
    queueDepth: infra.queueDepth,
    queues: [queue, `${queue}.dlq`],
    onSourceError: (source, err) => log.warn({ source, err: String(err) }, 'metrics source failed'),
  });
  metrics.primeConsumer(
    queue,
    service === 'orders'
      ? [MessageTypes.paymentSucceeded, MessageTypes.paymentFailed]
      : [MessageTypes.paymentRequested],
  );
  return metrics;
};

/** Retries and dead letters decided by the subscriber, before or without the handler. */
const observeFailures = (queue: string, infra: Infrastructure, metrics: ServiceMetrics, log: Logger): void => {
  infra.observeFailures(queue, (action, err) => {
    if (action === 'retry') metrics.retries.inc({ queue });
    else metrics.deadLettered.inc({ queue });
    // The handler never saw it, so no "message failed" line tells of it: this one does.
    if (err instanceof PoisonMessage)
      log.error({ queue, message_id: err.messageId, redeliveries: err.redeliveries }, err.message);
    else if (isDomainError(err) && err.code === 'unexpected_sender') log.error({ queue, code: err.code }, err.message);
  });
};

export const serviceTelemetry = (service: ServiceName, infra: Infrastructure, log: Logger): ServiceTelemetry => {
  const queue = queueOf(service);
  const serviceLog = log.child({ service });
  const tracer = trace.getTracer(`gozon.${service}`);
  const metrics = measure(service, infra, serviceLog);
  observeFailures(queue, infra, metrics, serviceLog);
  const messageOptions = {
    queue,
    log: serviceLog,
    tracer,
    observe: ({ type, outcome, seconds }: { type: string; outcome: string; seconds: number }) => {
      metrics.handling.observe({ type, outcome }, seconds);
      if (outcome === 'duplicate') metrics.duplicates.inc({ type });
    },
  };
  return {
    metrics,
    queue,
    requests: requestTelemetry({
      log: serviceLog,
      tracer,
      observe: (r) =>
        metrics.httpDuration.observe({ method: r.method, route: r.route, status: String(r.status) }, r.seconds),
    }),
    scrape: async () => ({ contentType: metrics.contentType, body: await metrics.exposition() }),
    publisher: (inner) => new MeasuredPublisher(inner, metrics),
    handler: (execute) => handleWithTelemetry(messageOptions, execute),
    batchHandler: (executeAll) => handleBatchWithTelemetry(messageOptions, executeAll),
    onOrderSettled: (order) =>
      metrics.orderSettled.observe(
        { status: order.status },
        (order.updatedAt.getTime() - order.createdAt.getTime()) / 1000,
      ),
    onAskedAgain: (asked) => {
      for (const { orderId, asks } of asked) {
        // asks counts the first request too: 2 is the first time again, 3 the second.
        serviceLog.info({ order_id: orderId, attempt: asks - 1 }, 'payment asked again');
        metrics.reconcileRequests.inc();
        if (asks === 3) metrics.reconcileRepeated.inc();
      }
    },
  };
};
