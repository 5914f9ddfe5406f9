import { type OutgoingMessage } from '@gozon/core';
import {
  decideOnFailure,
  decodeMessage,
  defaultRetryPolicy,
  encodeMessage,
  type RetryPolicy,
  type MessageHandler,
  type MessagePublisher,
  type MessageSubscriber,
  type Subscription,
  type WireMessage,
} from '@gozon/messaging';

export interface DeadLetter {
  readonly queue: string;
  readonly message: WireMessage;
  readonly reason: string;
}

/**
 * The embedded default's broker, for parts that share one process. `publish` hands each message
 * straight to the queue's handler and resolves only after the handler has committed, so the
 * outbox row stays unpublished until the effect is durable: a crash at any moment leaves the row
 * to be relayed again, and the consumer's inbox absorbs the repeat. Nothing is held in memory
 * that a restart could lose. A handler's failure rejects the publish (the relay backs off and
 * tries again) until the message has failed `retry.maxAttempts` times in this process; then it is
 * dead-lettered and the batch goes on, so one failing message never blocks the ones behind it. A
 * malformed or invalid message is dead-lettered at once; a failure the policy calls transient (a
 * database down) is retried for as long as it lasts, without using up attempts.
 */
export class DirectBus implements MessagePublisher, MessageSubscriber {
  private readonly handlers = new Map<string, MessageHandler>();
  private readonly active = new Map<string, Set<Promise<void>>>();
  readonly deadLetters: DeadLetter[] = [];
  /** Failed attempts of each message still to be retried, by queue and message id. */
  private readonly attempts = new Map<string, number>();

  constructor(
    private readonly onDeadLetter: (letter: DeadLetter) => void = () => undefined,
    /** Told of a handler's failure that will be retried: the publish rejects and the relay tries again later. */
    private readonly onRetry: (queue: string, err: unknown) => void = () => undefined,
    private readonly retry: RetryPolicy = defaultRetryPolicy,
  ) {}

  async subscribe(queue: string, handler: MessageHandler): Promise<Subscription> {
    if (this.handlers.has(queue)) throw new Error(`queue ${queue} has a consumer already`);
    this.handlers.set(queue, handler);
    this.active.set(queue, new Set());
    return {
      close: async () => {
        this.handlers.delete(queue);
        await Promise.all(this.active.get(queue) ?? []);
      },
    };
  }

  async publish(messages: readonly OutgoingMessage[]): Promise<void> {
    for (const message of messages) await this.deliver(message.routingKey, encodeMessage(message.envelope));
  }

  /** Hands `queue`'s consumer a message exactly as given, past the encoder (as a broker may carry anything). */
  injectRaw(queue: string, message: WireMessage): Promise<void> {
    return this.deliver(queue, message);
  }

  private async deliver(queue: string, wire: WireMessage): Promise<void> {
    const handler = this.handlers.get(queue);
    if (!handler) throw new Error(`no consumer for ${queue} yet: the message stays in the outbox`);
    // A message that does not decode fails as its handler would, and is dead-lettered at once.
    const work = Promise.resolve().then(() => handler(decodeMessage(wire)));
    const tracked = work.then(
      () => undefined,
      () => undefined,
    );
    const inFlight = this.active.get(queue);
    inFlight?.add(tracked);
    const key = `${queue}\u0000${wire.properties.messageId}`;
    try {
      await work;
      this.attempts.delete(key);
    } catch (err) {
      this.settleFailure(queue, wire, key, err);
    } finally {
      inFlight?.delete(tracked);
    }
  }

  // Rethrows a failure to be retried (the relay tries again later); dead-letters the rest.
  private settleFailure(queue: string, wire: WireMessage, key: string, err: unknown): void {
    const attempt = (this.attempts.get(key) ?? 0) + 1;
    const decision = decideOnFailure(err, attempt, this.retry);
    if (decision.action === 'retry') {
      if (!decision.transient) this.attempts.set(key, attempt);
      this.onRetry(queue, err);
      throw err;
    }
    this.attempts.delete(key);
    const letter = { queue, message: wire, reason: decision.reason };
    this.deadLetters.push(letter);
    this.onDeadLetter(letter);
  }
}
