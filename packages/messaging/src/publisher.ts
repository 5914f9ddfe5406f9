import type { MessageEnvelope, OutgoingMessage } from '@gozon/core';

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

/**
 * Handles several delivered messages in one transaction: resolves once every one of them is
 * applied and committed together, or throws having applied none of them. Each message must get
 * the same effect as the one-message handler would give it.
 */
export type BatchHandler = (messages: readonly MessageEnvelope[]) => Promise<void>;

export interface SubscribeOptions {
  /**
   * Takes messages that wait together (a busy queue) in one call, one commit for all; when it
   * throws, each of them goes to the one-message handler, with its own retries and dead-lettering.
   */
  readonly batch?: BatchHandler;
}

export interface Subscription {
  /** Stops taking new deliveries and waits for those in hand to finish. */
  close(): Promise<void>;
}

/** Delivers messages from a queue, at least once. */
export interface MessageSubscriber {
  /** Starts consuming `queue`, handing each message to `handler` (or several to `options.batch`). */
  subscribe(queue: string, handler: MessageHandler, options?: SubscribeOptions): Promise<Subscription>;
}
