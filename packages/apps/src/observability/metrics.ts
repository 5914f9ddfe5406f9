import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** What a scrape reads from the outbox table. */
export type OutboxStatsSource = () => Promise<{ pending: number; oldestAgeSeconds: number }>;
/** What a scrape reads about orders still waiting for their outcome (orders service). */
export type AwaitingSource = () => Promise<{ count: number; oldestAgeSeconds: number }>;
/** Messages waiting in a broker queue (RabbitMQ only). */
export type QueueDepthSource = (queue: string) => Promise<number>;

export interface MetricSources {
  readonly outbox: OutboxStatsSource;
  readonly awaitingOutcome?: AwaitingSource | undefined;
  readonly queueDepth?: QueueDepthSource | undefined;
  /** The queues whose depth to report: the service's own and its dead-letter queue. */
  readonly queues?: readonly string[];
  /** Told when a scrape-time source fails; its gauges are then left out of that scrape. */
  readonly onSourceError?: (source: string, err: unknown) => void;
}

const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * One query per scrape for several gauges: prom-client collects them concurrently, so the first
 * caller starts the query and the others share its answer.
 */
const sharedPerScrape = <T>(load: () => Promise<T>): (() => Promise<T>) => {
  let pending: Promise<T> | null = null;
  return () => {
    pending ??= load().finally(() => setTimeout(() => (pending = null), 0));
    return pending;
  };
};

/**
 * A service's metrics in a registry of its own (`gozon all` runs two services in one process),
 * every series labelled with the service. Gauges about the database and broker are computed on
 * scrape, so they are right even when nothing else happens.
 */
export class ServiceMetrics {
  readonly registry = new Registry();
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
  readonly publishBatchSize: Histogram;
  readonly publishDuration: Histogram<'result'>;
  readonly published: Counter<'routing_key'>;
  readonly handling: Histogram<'type' | 'outcome'>;
  readonly duplicates: Counter<'type'>;
  readonly deadLettered: Counter<'queue'>;
  readonly retries: Counter<'queue'>;
  readonly orderSettled: Histogram<'status'>;

  constructor(service: string, sources: MetricSources) {
    const registers = [this.registry];
    this.registry.setDefaultLabels({ service });
    collectDefaultMetrics({ register: this.registry });

    this.httpDuration = new Histogram({
      name: 'gozon_http_request_duration_seconds',
      help: 'HTTP requests by method, matched route pattern and status, and how long they took.',
      labelNames: ['method', 'route', 'status'],
      buckets: SECONDS,
      registers,
    });
    this.publishBatchSize = new Histogram({
      name: 'gozon_outbox_publish_batch_size',
      help: 'Messages per batch the outbox relay hands to the broker.',
      buckets: [1, 2, 5, 10, 20, 50, 100, 200],
      registers,
    });
    this.publishDuration = new Histogram({
      name: 'gozon_outbox_publish_duration_seconds',
      help: 'Time to publish one relay batch until the broker confirmed it (result ok or error).',
      labelNames: ['result'],
      buckets: SECONDS,
      registers,
    });
    this.published = new Counter({
      name: 'gozon_messages_published_total',
      help: 'Messages the relay published and the broker confirmed, by routing key.',
      labelNames: ['routing_key'],
      registers,
    });
    this.handling = new Histogram({
      name: 'gozon_message_handling_duration_seconds',
      help: 'Messages handled by this service, by type and outcome, and how long handling took.',
      labelNames: ['type', 'outcome'],
      buckets: SECONDS,
      registers,
    });
    this.duplicates = new Counter({
      name: 'gozon_inbox_duplicates_total',
      help: 'Messages the inbox recognised as handled before and absorbed without effect.',
      labelNames: ['type'],
      registers,
    });
    this.deadLettered = new Counter({
      name: 'gozon_messages_dead_lettered_total',
      help: 'Messages sent to the dead-letter queue (malformed, invalid, or out of retries).',
      labelNames: ['queue'],
      registers,
    });
    this.retries = new Counter({
      name: 'gozon_message_retries_total',
      help: 'Handler failures that will be retried.',
      labelNames: ['queue'],
      registers,
    });
    this.orderSettled = new Histogram({
      name: 'gozon_order_settle_duration_seconds',
      help: 'Time from an order being accepted to its final status (FINISHED or CANCELLED).',
      labelNames: ['status'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    });

    const failed = (source: string, err: unknown) => sources.onSourceError?.(source, err);
    const outbox = sharedPerScrape(sources.outbox);
    this.scraped('gozon_outbox_pending_messages', 'Outbox rows not yet published.', outbox, (s) => s.pending, failed);
    this.scraped(
      'gozon_outbox_oldest_pending_age_seconds',
      'Age of the oldest unpublished outbox row; 0 when the outbox is empty.',
      outbox,
      (s) => s.oldestAgeSeconds,
      failed,
    );
    if (sources.awaitingOutcome) {
      const awaiting = sharedPerScrape(sources.awaitingOutcome);
      this.scraped('gozon_orders_awaiting_outcome', 'Orders still NEW.', awaiting, (s) => s.count, failed);
      this.scraped(
        'gozon_orders_oldest_awaiting_age_seconds',
        'Age of the oldest order still NEW; 0 when none is.',
        awaiting,
        (s) => s.oldestAgeSeconds,
        failed,
      );
    }
    const depth = sources.queueDepth;
    if (depth && sources.queues?.length) {
      const queues = sources.queues;
      new Gauge({
        name: 'gozon_queue_messages',
        help: 'Messages waiting in a broker queue this service consumes, or its dead-letter queue.',
        labelNames: ['queue'],
        registers,
        async collect() {
          this.reset();
          await Promise.all(
            queues.map((queue) =>
              depth(queue).then(
                (n) => this.set({ queue }, n),
                (err: unknown) => failed('queue depth', err),
              ),
            ),
          );
        },
      });
    }
  }

  /**
   * Starts the counters of a consumer at 0, so a scrape shows them (and rates and alerts work)
   * before the first duplicate, retry or dead letter.
   */
  primeConsumer(queue: string, types: readonly string[]): void {
    this.deadLettered.inc({ queue }, 0);
    this.retries.inc({ queue }, 0);
    for (const type of types) this.duplicates.inc({ type }, 0);
  }

  /** The Prometheus text exposition of this service's registry. */
  exposition(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private scraped<T>(
    name: string,
    help: string,
    load: () => Promise<T>,
    pick: (value: T) => number,
    failed: (source: string, err: unknown) => void,
  ): void {
    new Gauge({
      name,
      help,
      registers: [this.registry],
      async collect() {
        try {
          this.set(pick(await load()));
        } catch (err) {
          // NaN says "unknown"; a stale value or 0 would say "fine".
          this.set(Number.NaN);
          failed(name, err);
        }
      },
    });
  }
}
