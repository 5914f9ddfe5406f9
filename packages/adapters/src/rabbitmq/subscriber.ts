import {
  defaultRetryPolicy,
  type MessageHandler,
  type MessageSubscriber,
  type PoisonGuard,
  type RetryPolicy,
  type Subscription,
} from '@gozon/core';
import type { RabbitConnection } from './connection.js';
import { Consumer } from './consumer.js';

export interface RabbitSubscriberOptions {
  /** Deliveries a consumer holds unacknowledged at once; they are handled concurrently. */
  readonly prefetch: number;
  readonly retry: RetryPolicy;
  /** Told of every message that failed, and what became of it, with the queue it came from. */
  readonly onFailure?: (err: unknown, action: 'retry' | 'dead-letter', queue: string) => void;
  /**
   * Counts redeliveries (messages that came back unsettled, e.g. after a crash) and dead-letters
   * a message past `maxRedeliveries` without handling it again, reported to `onFailure` with a
   * `PoisonMessage`. Without it a message that crashes the process comes back forever.
   */
  readonly poison?: PoisonGuard | undefined;
}

export const defaultSubscriberOptions: RabbitSubscriberOptions = { prefetch: 50, retry: defaultRetryPolicy };

/**
 * Consumes with manual acknowledgement after the handler resolved (and so after its transaction
 * committed). A failing message is dead-lettered or parked in a retry queue, per the policy; a
 * message that keeps coming back unsettled is dead-lettered by the poison guard, if one is given.
 */
export class RabbitSubscriber implements MessageSubscriber {
  private readonly options: RabbitSubscriberOptions;

  constructor(
    private readonly connection: RabbitConnection,
    options: Partial<RabbitSubscriberOptions> = {},
  ) {
    this.options = { ...defaultSubscriberOptions, ...options };
  }

  /** This subscriber with a poison guard of its own: each service counts in its own database. */
  withPoisonGuard(poison: PoisonGuard): RabbitSubscriber {
    return new RabbitSubscriber(this.connection, { ...this.options, poison });
  }

  async subscribe(queue: string, handler: MessageHandler): Promise<Subscription> {
    const consumer = new Consumer(this.connection, queue, handler, this.options);
    await consumer.start();
    return consumer;
  }
}
