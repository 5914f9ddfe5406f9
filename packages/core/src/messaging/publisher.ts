import type { MessageEnvelope, OutgoingMessage } from './envelope.js';

/** Publishes to the broker. Resolves only once the broker has confirmed every message. */
export interface MessagePublisher {
  /** Publishes `messages` in order and resolves when all are confirmed; rejects if any is not. */
  publish(messages: readonly OutgoingMessage[]): Promise<void>;
}

/**
 * Handles one delivered message. Resolving acknowledges it; throwing a `malformed_message` or
 * `validation` DomainError dead-letters it at once; any other error retries it a bounded number
 * of times and then dead-letters it.
 */
export type MessageHandler = (message: MessageEnvelope) => Promise<void>;

export interface Subscription {
  /** Stops taking new deliveries and waits for those in hand to finish. */
  close(): Promise<void>;
}

/** Delivers messages from a queue, at least once. */
export interface MessageSubscriber {
  /** Starts consuming `queue`, handing each message to `handler`. */
  subscribe(queue: string, handler: MessageHandler): Promise<Subscription>;
}
