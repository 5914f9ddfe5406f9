import { Routes } from '@gozon/core';
import { type RetryPolicy } from '@gozon/messaging';
import type { Channel } from 'amqplib';

/** What one GoZon namespace on RabbitMQ consists of. */
export interface TopologyOptions {
  /** The durable topic exchange every message is published to (`AMQP_EXCHANGE`). */
  readonly exchange: string;
  /** Durable queues, each bound to the exchange by its own name as routing key. */
  readonly queues: readonly string[];
  /** When given, the retry queues this policy needs are declared up front too. */
  readonly retry?: RetryPolicy | undefined;
}

export const DEFAULT_EXCHANGE = 'gozon';

export const defaultTopology: TopologyOptions = {
  exchange: DEFAULT_EXCHANGE,
  queues: [Routes.orderPayments, Routes.paymentStatus],
};

export const deadLetterQueueOf = (queue: string): string => `${queue}.dlq`;

/** One retry queue per delay: all its messages share one TTL, so the oldest always expires first. */
export const retryQueueOf = (queue: string, delayMs: number): string => `${queue}.retry.${delayMs}ms`;

/** Every delay `decideOnFailure` can ask for under `policy`, smallest first. */
export const retryDelays = (policy: RetryPolicy): number[] => {
  const delays = new Set<number>();
  // Transient failures are retried past the limit, at delays growing up to the longest.
  for (let attempt = 1; attempt < policy.maxAttempts || policy.isTransient; attempt += 1) {
    const delay = Math.min(policy.baseDelayMs * 2 ** (attempt - 1), policy.maxDelayMs);
    delays.add(delay);
    if (delay >= policy.maxDelayMs) break;
  }
  return [...delays].sort((a, b) => a - b);
};

/**
 * A retry queue holds a message for `delayMs`, then dead-letters it through the default exchange
 * straight back to `queue` — not to the topic exchange, which would copy it to every other queue
 * bound to the same key.
 */
export const declareRetryQueue = async (channel: Channel, queue: string, delayMs: number): Promise<string> => {
  const name = retryQueueOf(queue, delayMs);
  await channel.assertQueue(name, {
    durable: true,
    arguments: { 'x-message-ttl': delayMs, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': queue },
  });
  return name;
};

/** Declares one queue, its dead-letter queue and its binding. */
export const declareQueue = async (channel: Channel, exchange: string, queue: string): Promise<void> => {
  await channel.assertQueue(deadLetterQueueOf(queue), { durable: true });
  await channel.assertQueue(queue, {
    durable: true,
    arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': deadLetterQueueOf(queue) },
  });
  await channel.bindQueue(queue, exchange, queue);
};

/** Declares the exchange, queues, dead-letter queues and retry queues; safe to repeat. */
export const declareTopology = async (channel: Channel, topology: TopologyOptions = defaultTopology): Promise<void> => {
  await channel.assertExchange(topology.exchange, 'topic', { durable: true });
  for (const queue of topology.queues) {
    await declareQueue(channel, topology.exchange, queue);
    for (const delay of topology.retry ? retryDelays(topology.retry) : [])
      await declareRetryQueue(channel, queue, delay);
  }
};
