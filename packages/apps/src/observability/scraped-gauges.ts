import { Gauge, type Registry } from 'prom-client';

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

type Failed = (source: string, err: unknown) => void;

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

/** A gauge whose value is read at scrape time from `load`. */
const scraped = <T>(
  registry: Registry,
  name: string,
  help: string,
  load: () => Promise<T>,
  pick: (value: T) => number,
  failed: Failed,
): void => {
  new Gauge({
    name,
    help,
    registers: [registry],
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
};

const outboxGauges = (registry: Registry, source: OutboxStatsSource, failed: Failed): void => {
  const outbox = sharedPerScrape(source);
  scraped(
    registry,
    'gozon_outbox_pending_messages',
    'Outbox rows not yet published.',
    outbox,
    (s) => s.pending,
    failed,
  );
  scraped(
    registry,
    'gozon_outbox_oldest_pending_age_seconds',
    'Age of the oldest unpublished outbox row; 0 when the outbox is empty.',
    outbox,
    (s) => s.oldestAgeSeconds,
    failed,
  );
};

const awaitingGauges = (registry: Registry, source: AwaitingSource, failed: Failed): void => {
  const awaiting = sharedPerScrape(source);
  scraped(registry, 'gozon_orders_awaiting_outcome', 'Orders still NEW.', awaiting, (s) => s.count, failed);
  scraped(
    registry,
    'gozon_orders_oldest_awaiting_age_seconds',
    'Age of the oldest order still NEW; 0 when none is.',
    awaiting,
    (s) => s.oldestAgeSeconds,
    failed,
  );
};

const queueDepthGauge = (registry: Registry, depth: QueueDepthSource, queues: readonly string[], failed: Failed) =>
  new Gauge({
    name: 'gozon_queue_messages',
    help: 'Messages waiting in a broker queue this service consumes, or its dead-letter queue.',
    labelNames: ['queue'],
    registers: [registry],
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

/**
 * Gauges about the database and broker, computed on scrape, so they are right even when nothing
 * else happens.
 */
export const installScrapedGauges = (registry: Registry, sources: MetricSources): void => {
  const failed: Failed = (source, err) => sources.onSourceError?.(source, err);
  outboxGauges(registry, sources.outbox, failed);
  if (sources.awaitingOutcome) awaitingGauges(registry, sources.awaitingOutcome, failed);
  if (sources.queueDepth && sources.queues?.length)
    queueDepthGauge(registry, sources.queueDepth, sources.queues, failed);
};
