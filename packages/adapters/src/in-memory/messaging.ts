import { type MessageEnvelope, type OutgoingMessage } from '@gozon/core';
import {
  Batcher,
  decideOnFailure,
  decodeMessage,
  defaultRetryPolicy,
  encodeMessage,
  screenRedelivery,
  type MessageHandler,
  type MessagePublisher,
  type MessageSubscriber,
  type PoisonGuard,
  type RetryPolicy,
  type SubscribeOptions,
  type Subscription,
  type WireMessage,
} from '@gozon/messaging';
import type { Delivery, InMemoryBroker } from './broker.js';

/** Publishes to the in-process broker; the "confirm" is the enqueue itself. */
export class InMemoryPublisher implements MessagePublisher {
  private failures = 0;

  constructor(private readonly broker: InMemoryBroker) {}

  /** Makes the next `count` publish calls fail before sending anything (tests). */
  failNext(count: number): void {
    this.failures = count;
  }

  async publish(messages: readonly OutgoingMessage[]): Promise<void> {
    if (this.failures > 0) {
      this.failures -= 1;
      throw new Error('broker unavailable (injected)');
    }
    for (const message of messages) this.broker.publish(message.routingKey, encodeMessage(message.envelope));
  }
}

export const ATTEMPTS_HEADER = 'x-gozon-attempts';

export const attemptOf = (message: WireMessage): number => {
  const value = message.properties.headers?.[ATTEMPTS_HEADER];
  return typeof value === 'number' && value > 0 ? value : 1;
};

export const withAttempt = (message: WireMessage, attempt: number): WireMessage => ({
  ...message,
  properties: { ...message.properties, headers: { ...message.properties.headers, [ATTEMPTS_HEADER]: attempt } },
});

/** Retries so far for transient failures (a dependency down), which do not count as attempts. */
export const WAITS_HEADER = 'x-gozon-waits';

export const waitsOf = (message: WireMessage): number => {
  const value = message.properties.headers?.[WAITS_HEADER];
  return typeof value === 'number' && value > 0 ? value : 0;
};

/** The copy a retry sends: one more attempt, or one more wait when a dependency was down. */
export const retryCopy = (message: WireMessage, decision: { readonly transient?: true }): WireMessage =>
  decision.transient
    ? {
        ...message,
        properties: {
          ...message.properties,
          headers: { ...message.properties.headers, [WAITS_HEADER]: waitsOf(message) + 1 },
        },
      }
    : withAttempt(message, attemptOf(message) + 1);

export interface SubscriberOptions {
  readonly prefetch: number;
  readonly retry: RetryPolicy;
  /** Told of every message that failed, and what became of it. */
  readonly onFailure?: (err: unknown, action: 'retry' | 'dead-letter') => void;
  /** Dead-letters a message redelivered more than `maxRedeliveries` times, as on RabbitMQ. */
  readonly poison?: PoisonGuard | undefined;
  /** Most first deliveries one call of a batch handler takes, as on RabbitMQ. */
  readonly batchSize: number;
  /** Batches handled at once. */
  readonly batchConcurrency: number;
}

/**
 * Consumes from the in-process broker: acknowledges after the handler resolves, dead-letters
 * malformed messages at once, and retries failing ones with backoff up to the policy's limit.
 */
export class InMemorySubscriber implements MessageSubscriber {
  private readonly options: SubscriberOptions;

  constructor(
    private readonly broker: InMemoryBroker,
    options: Partial<SubscriberOptions> = {},
  ) {
    this.options = { prefetch: 50, retry: defaultRetryPolicy, batchSize: 32, batchConcurrency: 4, ...options };
  }

  async subscribe(queue: string, handler: MessageHandler, options: SubscribeOptions = {}): Promise<Subscription> {
    const consumer = new QueueConsumer(this.broker, queue, handler, options, this.options);
    const cancel = this.broker.consume(queue, this.options.prefetch, (delivery) => consumer.take(delivery));
    return { close: () => consumer.close(cancel) };
  }
}

/** One subscription's consumer: what it has in hand, its batches, and the retries it has set. */
class QueueConsumer {
  private readonly active = new Set<Promise<void>>();
  private readonly timers = new Map<NodeJS.Timeout, WireMessage>();
  private readonly batcher: Batcher<Delivery> | undefined;
  // Redelivered messages are screened and handled one at a time, as the RabbitMQ consumer does.
  private suspects: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly broker: InMemoryBroker,
    private readonly queue: string,
    private readonly handler: MessageHandler,
    private readonly subscribed: SubscribeOptions,
    private readonly options: SubscriberOptions,
  ) {
    this.batcher =
      subscribed.batch &&
      new Batcher((deliveries) => this.handleBatch(deliveries), {
        maxSize: options.batchSize,
        concurrency: options.batchConcurrency,
      });
  }

  take(delivery: Delivery): void {
    if (this.closed) return; // left unacknowledged: cancelling hands it back to the queue
    const guard = delivery.redelivered ? this.options.poison : undefined;
    let handling: Promise<void>;
    if (guard) {
      handling = this.suspects.then(() => this.screen(delivery, guard));
      this.suspects = handling.catch(() => undefined);
    } else handling = this.batcher ? this.batcher.add(delivery) : this.handle(delivery);
    const work = handling.finally(() => this.active.delete(work));
    this.active.add(work);
  }

  async close(cancel: () => void): Promise<void> {
    this.closed = true;
    await Promise.all(this.active);
    cancel();
    // Retries still waiting go back to the queue now rather than die with their timers.
    for (const [timer, retry] of this.timers) {
      clearTimeout(timer);
      this.broker.inject(this.queue, retry);
    }
    this.timers.clear();
  }

  private async handle(delivery: Delivery): Promise<void> {
    const attempt = attemptOf(delivery.message);
    try {
      await this.handler(decodeMessage(delivery.message));
      this.broker.ack(delivery);
    } catch (err) {
      const decision = decideOnFailure(err, attempt, this.options.retry, waitsOf(delivery.message));
      this.options.onFailure?.(err, decision.action);
      if (decision.action === 'dead-letter') {
        this.broker.nack(delivery, false);
        return;
      }
      // The retry is a new copy that carries its attempt (or wait) count; the original is settled.
      const retry = retryCopy(delivery.message, decision);
      this.broker.ack(delivery);
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        this.broker.inject(this.queue, retry);
      }, decision.delayMs);
      this.timers.set(timer, retry);
    }
  }

  // First deliveries that wait together go to the batch handler in one call, acknowledged after
  // it; a batch that fails changed nothing, and each of its messages is handled alone.
  private async handleBatch(deliveries: Delivery[]): Promise<void> {
    if (this.closed) return;
    const decoded: { delivery: Delivery; message: MessageEnvelope }[] = [];
    const alone: Delivery[] = [];
    for (const delivery of deliveries) {
      try {
        decoded.push({ delivery, message: decodeMessage(delivery.message) });
      } catch {
        alone.push(delivery);
      }
    }
    const batch = this.subscribed.batch;
    if (batch && decoded.length > 1) {
      try {
        await batch(decoded.map((d) => d.message));
        for (const { delivery } of decoded) this.broker.ack(delivery);
        decoded.length = 0;
      } catch {
        // Each on its own below.
      }
    }
    alone.push(...decoded.map((d) => d.delivery));
    await Promise.all(alone.map((delivery) => this.handle(delivery)));
  }

  private async screen(delivery: Delivery, guard: PoisonGuard): Promise<void> {
    if (this.closed) return;
    const messageId = delivery.message.properties.messageId;
    const poison = messageId ? await screenRedelivery(guard, this.queue, messageId, () => undefined) : null;
    if (!poison) return this.handle(delivery);
    this.options.onFailure?.(poison, 'dead-letter');
    this.broker.nack(delivery, false);
  }
}
