import { Counter, Histogram, type Registry } from 'prom-client';

// What a service counts and times as it works, one factory per metric: the names, help texts,
// labels and buckets are what dashboards and alerts are written against (docs/operations.md).

const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export const httpDurationMetric = (registry: Registry) =>
  new Histogram({
    name: 'gozon_http_request_duration_seconds',
    help: 'HTTP requests by method, matched route pattern and status, and how long they took.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: SECONDS,
    registers: [registry],
  });

export const publishBatchSizeMetric = (registry: Registry) =>
  new Histogram({
    name: 'gozon_outbox_publish_batch_size',
    help: 'Messages per batch the outbox relay hands to the broker.',
    buckets: [1, 2, 5, 10, 20, 50, 100, 200],
    registers: [registry],
  });

export const publishDurationMetric = (registry: Registry) =>
  new Histogram({
    name: 'gozon_outbox_publish_duration_seconds',
    help: 'Time to publish one relay batch until the broker confirmed it (result ok or error).',
    labelNames: ['result'] as const,
    buckets: SECONDS,
    registers: [registry],
  });

export const publishedMetric = (registry: Registry) =>
  new Counter({
    name: 'gozon_messages_published_total',
    help: 'Messages the relay published and the broker confirmed, by routing key.',
    labelNames: ['routing_key'] as const,
    registers: [registry],
  });

export const handlingMetric = (registry: Registry) =>
  new Histogram({
    name: 'gozon_message_handling_duration_seconds',
    help: 'Messages handled by this service, by type and outcome, and how long handling took.',
    labelNames: ['type', 'outcome'] as const,
    buckets: SECONDS,
    registers: [registry],
  });

export const duplicatesMetric = (registry: Registry) =>
  new Counter({
    name: 'gozon_inbox_duplicates_total',
    help: 'Messages the inbox recognised as handled before and absorbed without effect.',
    labelNames: ['type'] as const,
    registers: [registry],
  });

export const deadLetteredMetric = (registry: Registry) =>
  new Counter({
    name: 'gozon_messages_dead_lettered_total',
    help: 'Messages sent to the dead-letter queue (malformed, invalid, or out of retries).',
    labelNames: ['queue'] as const,
    registers: [registry],
  });

export const retriesMetric = (registry: Registry) =>
  new Counter({
    name: 'gozon_message_retries_total',
    help: 'Handler failures that will be retried.',
    labelNames: ['queue'] as const,
    registers: [registry],
  });

export const orderSettledMetric = (registry: Registry) =>
  new Histogram({
    name: 'gozon_order_settle_duration_seconds',
    help: 'Time from an order being accepted to its final status (FINISHED or CANCELLED).',
    labelNames: ['status'] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [registry],
  });

export const reconcileRequestsMetric = (registry: Registry) =>
  new Counter({
    name: 'gozon_reconcile_requests_total',
    help: 'Payment requests sent again for orders still NEW after the reconcile delay.',
    registers: [registry],
  });

export const reconcileRepeatedMetric = (registry: Registry) =>
  new Counter({
    name: 'gozon_reconcile_orders_repeated_total',
    help: 'Orders whose payment was asked for again more than once (the second time again counts each).',
    registers: [registry],
  });
