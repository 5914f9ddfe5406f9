import { type OutgoingMessage } from '@gozon/core';
import {
  decideOnFailure,
  decodeMessage,
  defaultRetryPolicy,
  encodeMessage,
  screenRedelivery,
  type DeadLetter,
  type DeadLetterStore,
  type RetryPolicy,
  type MessageHandler,
  type MessagePublisher,
  type MessageSubscriber,
  type PoisonGuard,
  type Subscription,
  type WireMessage,
} from '@gozon/messaging';
import { InMemoryDeadLetterStore } from './dead-letter-store.js';
import { HandoverGate } from './handover-gate.js';

/** What a consumer of the direct bus brings of its own: where its dead letters go, and its poison guard. */
export interface DirectBusGuard {
  /** Where the queue's dead letters are kept: the consuming service's database. */
  readonly deadLetters: DeadLetterStore;
  /** Counts handovers (in the same database) and dead-letters a message that keeps coming back. */
  readonly poison?: PoisonGuard | undefined;
}

interface Consumer {
  readonly handler: MessageHandler;
  readonly guard: DirectBusGuard;
  readonly active: Set<Promise<void>>;
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
 *
 * A dead letter is committed to the consumer's `DeadLetterStore` before the publish resolves, so
 * the message leaves the outbox only once it is kept elsewhere. With a poison guard, the first
 * handover of a message in this process is counted first (one committed statement): a message
 * whose handling kills the process comes back from the outbox after each restart, and once it came
 * back more than `maxRedeliveries` times it is dead-lettered unhandled.
 */
export class DirectBus implements MessagePublisher, MessageSubscriber {
  private readonly consumers = new Map<string, Consumer>();
  /** Where dead letters go for a queue subscribed without a guard of its own. */
  readonly deadLetters: DeadLetterStore = new InMemoryDeadLetterStore();
  /** Failed attempts of each message still to be retried, by queue and message id. */
  private readonly attempts = new Map<string, number>();
  /** Messages whose failure this process saw: handed over again, they are retries, not redeliveries. */
  private readonly seen = new Set<string>();
  private readonly gate = new HandoverGate();

  constructor(
    /** Told of each dead letter once it is kept, with what caused it (a `PoisonMessage` for poison). */
    private readonly onDeadLetter: (letter: DeadLetter, cause: unknown) => void = () => undefined,
    /** Told of a handler's failure that will be retried: the publish rejects and the relay tries again later. */
    private readonly onRetry: (queue: string, err: unknown) => void = () => undefined,
    private readonly retry: RetryPolicy = defaultRetryPolicy,
    /** Told when the poison guard could not count (the message is then handled as usual). */
    private readonly onCounterError: (queue: string, err: unknown) => void = () => undefined,
  ) {}

  subscribe(queue: string, handler: MessageHandler): Promise<Subscription> {
    return this.consume(queue, handler, { deadLetters: this.deadLetters });
  }

  /** This bus as the subscriber of one service: its queues' dead letters and poison guard are `guard`'s. */
  guarded(guard: DirectBusGuard): MessageSubscriber {
    return { subscribe: (queue, handler) => this.consume(queue, handler, guard) };
  }

  async publish(messages: readonly OutgoingMessage[]): Promise<void> {
    for (const message of messages) await this.deliver(message.routingKey, encodeMessage(message.envelope));
  }

  /** Hands `queue`'s consumer a message exactly as given, past the encoder (as a broker may carry anything). */
  injectRaw(queue: string, message: WireMessage): Promise<void> {
    return this.deliver(queue, message);
  }

  private async consume(queue: string, handler: MessageHandler, guard: DirectBusGuard): Promise<Subscription> {
    if (this.consumers.has(queue)) throw new Error(`queue ${queue} has a consumer already`);
    const consumer = { handler, guard, active: new Set<Promise<void>>() };
    this.consumers.set(queue, consumer);
    return {
      close: async () => {
        if (this.consumers.get(queue) === consumer) this.consumers.delete(queue);
        await Promise.all(consumer.active);
      },
    };
  }

  private async deliver(queue: string, wire: WireMessage): Promise<void> {
    const consumer = this.consumers.get(queue);
    if (!consumer) throw new Error(`no consumer for ${queue} yet: the message stays in the outbox`);
    const key = `${queue}\u0000${wire.properties.messageId}`;
    const work = this.screenAndHandle(queue, consumer, wire, key);
    const tracked = work.then(
      () => undefined,
      () => undefined,
    );
    consumer.active.add(tracked);
    try {
      await work;
    } finally {
      consumer.active.delete(tracked);
    }
  }

  private async screenAndHandle(queue: string, consumer: Consumer, wire: WireMessage, key: string): Promise<void> {
    const handle = (): Promise<void> => this.handle(queue, consumer, wire, key);
    const poison = consumer.guard.poison;
    const id = wire.properties.messageId;
    // Retried after a failure this process saw, it did not crash anything; without a messageId
    // there is nothing to count by (the codec dead-letters it anyway).
    if (!poison || this.seen.has(key) || typeof id !== 'string' || id === '') return this.gate.shared(handle);
    // The bus cannot tell a first handover from one after a crash: it counts each, once per process.
    const handovers = await this.count(queue, () => poison.counter.count(queue, id));
    if (handovers === undefined || handovers <= 1) return this.gate.shared(handle);
    // It came back after a restart: handled alone, so that should it crash the process again, the
    // messages that happened to be in flight beside it are not charged with it. Its count is taken
    // back while it waits for its turn, and taken again when the turn comes.
    await this.count(queue, () => poison.counter.takeBack(queue, id));
    return this.gate.alone(async () => {
      const counter = {
        count: async () => (await poison.counter.count(queue, id)) - 1,
        takeBack: () => poison.counter.takeBack(queue, id),
      };
      const found = await screenRedelivery({ ...poison, counter }, queue, id, (err) => this.onCounterError(queue, err));
      return found ? this.deadLetter(consumer, { queue, message: wire }, found) : handle();
    });
  }

  /** Runs a count of the poison guard; a failure is told and shrugged off, since a guard must never block. */
  private async count<T>(queue: string, work: () => Promise<T>): Promise<T | undefined> {
    try {
      return await work();
    } catch (err) {
      this.onCounterError(queue, err);
      return undefined;
    }
  }

  private async handle(queue: string, consumer: Consumer, wire: WireMessage, key: string): Promise<void> {
    try {
      // A message that does not decode fails as its handler would, and is dead-lettered at once.
      await consumer.handler(decodeMessage(wire));
      this.forget(key);
    } catch (err) {
      await this.settleFailure(queue, consumer, wire, key, err);
    }
  }

  // Rethrows a failure to be retried (the relay tries again later); dead-letters the rest.
  private async settleFailure(
    queue: string,
    consumer: Consumer,
    wire: WireMessage,
    key: string,
    err: unknown,
  ): Promise<void> {
    const attempt = (this.attempts.get(key) ?? 0) + 1;
    const decision = decideOnFailure(err, attempt, this.retry);
    if (decision.action === 'retry') {
      if (!decision.transient) this.attempts.set(key, attempt);
      this.seen.add(key);
      this.onRetry(queue, err);
      throw err;
    }
    this.seen.add(key); // kept should the letter fail to be: the relay hands it over again
    await this.deadLetter(consumer, { queue, message: wire, reason: decision.reason }, err);
    this.forget(key);
  }

  /** Keeps the letter (committed) before the publish may resolve; if it cannot, the publish fails and the message stays in the outbox. */
  private async deadLetter(
    consumer: Consumer,
    letter: Omit<DeadLetter, 'reason'> & { reason?: string },
    cause: unknown,
  ): Promise<void> {
    const kept = { ...letter, reason: letter.reason ?? (cause instanceof Error ? cause.message : String(cause)) };
    await consumer.guard.deadLetters.add(kept);
    this.onDeadLetter(kept, cause);
  }

  private forget(key: string): void {
    this.attempts.delete(key);
    this.seen.delete(key);
  }
}
