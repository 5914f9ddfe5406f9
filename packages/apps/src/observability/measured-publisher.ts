import type { OutgoingMessage } from '@gozon/core';
import type { MessagePublisher } from '@gozon/messaging';
import type { ServiceMetrics } from './metrics.js';

/** A publisher that measures each relay batch: its size, how long the broker took to confirm it, what went out. */
export class MeasuredPublisher implements MessagePublisher {
  constructor(
    private readonly inner: MessagePublisher,
    private readonly metrics: Pick<ServiceMetrics, 'publishBatchSize' | 'publishDuration' | 'published'>,
  ) {}

  async publish(messages: readonly OutgoingMessage[]): Promise<void> {
    if (messages.length === 0) return this.inner.publish(messages);
    this.metrics.publishBatchSize.observe(messages.length);
    const done = this.metrics.publishDuration.startTimer();
    try {
      await this.inner.publish(messages);
    } catch (err) {
      done({ result: 'error' });
      throw err;
    }
    done({ result: 'ok' });
    const byKey = new Map<string, number>();
    for (const m of messages) byKey.set(m.routingKey, (byKey.get(m.routingKey) ?? 0) + 1);
    for (const [routingKey, n] of byKey) this.metrics.published.inc({ routing_key: routingKey }, n);
  }
}
