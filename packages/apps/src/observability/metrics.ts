import { collectDefaultMetrics, Registry } from 'prom-client';
import {
  deadLetteredMetric,
  duplicatesMetric,
  handlingMetric,
  httpDurationMetric,
  orderSettledMetric,
  publishBatchSizeMetric,
  publishDurationMetric,
  publishedMetric,
  reconcileRepeatedMetric,
  reconcileRequestsMetric,
  retriesMetric,
} from './metric-definitions.js';
import { installScrapedGauges, type MetricSources } from './scraped-gauges.js';

export type { AwaitingSource, MetricSources, OutboxStatsSource, QueueDepthSource } from './scraped-gauges.js';

/**
 * A service's metrics in a registry of its own (`gozon all` runs two services in one process),
 * every series labelled with the service. Gauges about the database and broker are computed on
 * scrape, so they are right even when nothing else happens.
 */
export class ServiceMetrics {
  readonly registry = new Registry();
  readonly httpDuration = httpDurationMetric(this.registry);
  readonly publishBatchSize = publishBatchSizeMetric(this.registry);
  readonly publishDuration = publishDurationMetric(this.registry);
  readonly published = publishedMetric(this.registry);
  readonly handling = handlingMetric(this.registry);
  readonly duplicates = duplicatesMetric(this.registry);
  readonly deadLettered = deadLetteredMetric(this.registry);
  readonly retries = retriesMetric(this.registry);
  readonly orderSettled = orderSettledMetric(this.registry);
  readonly reconcileRequests = reconcileRequestsMetric(this.registry);
  readonly reconcileRepeated = reconcileRepeatedMetric(this.registry);

  constructor(service: string, sources: MetricSources) {
    this.registry.setDefaultLabels({ service });
    collectDefaultMetrics({ register: this.registry });
    installScrapedGauges(this.registry, sources);
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
}
