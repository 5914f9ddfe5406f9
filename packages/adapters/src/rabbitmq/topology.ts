import { Routes } from '@gozon/core';
import { type RetryPolicy } from '@gozon/messaging';
import type { Channel } from 'amqplib';

/** What one GoZon namespace on RabbitMQ consists of. */
export interface TopologyOptions {
  /** The durable topic exchange every message is published to (`AMQP_EXCHANGE`). */
  readonly exchange: string;
  /** Durable queues, each bound to the exchange by its own name as routing key. */
  readonly queues: readonly string[];
  /** When given, the retry queues this policy needs are declared up front too (classic queues only). */
  readonly retry?: RetryPolicy | undefined;
  /** `AMQP_QUEUE_TYPE`: classic (the default) or quorum (replicated on a cluster). */
  readonly queueType?: QueueType | undefined;
}

export type QueueType = 'classic' | 'quorum';
export const QUEUE_TYPES: readonly QueueType[] = ['classic', 'quorum'];

/**
 * The broker's own cap on a quorum work queue's deliveries, counting every return (a nack with
 * requeue, a consumer crash, a dropped connection): a backstop far above the poison guard's
 * `GOZON_MAX_REDELIVERIES`, which counts only the message whose turn it was and so dead-letters
 * first. A crash returns every message in flight, so a low cap would dead-letter innocent ones.
 * Fixed, not derived from the guard: a queue argument cannot change once declared.
 */
export const QUORUM_DELIVERY_LIMIT = 100;

/**
 * A queue's type arguments. A quorum queue that dead-letters does so at least once: the message
 * leaves only when the target queue confirmed it, which needs `x-overflow: reject-publish`.
 */
const typeArguments = (type: QueueType, deadLetters: boolean): Record<string, unknown> => {
  if (type === 'classic') return {};
  const args: Record<string, unknown> = { 'x-queue-type': 'quorum' };
  if (deadLetters) Object.assign(args, { 'x-dead-letter-strategy': 'at-least-once', 'x-overflow': 'reject-publish' });
  return args;
};

/** A queue exists with another type (or other arguments) than this process declares. */
export class QueueMismatch extends Error {
  constructor(
    readonly queue: string,
    readonly wanted: QueueType,
    detail: string,
  ) {
    super(
      `queue ${queue} exists with other arguments than AMQP_QUEUE_TYPE=${wanted} declares (${detail}); ` +
        'a queue cannot change type in place: see docs/operations.md, "Moving to quorum queues"',
    );
  }
}

/** Declares `queue`, turning the broker's PRECONDITION_FAILED into a `QueueMismatch`. */
const assertQueue = async (
  channel: Channel,
  queue: string,
  type: QueueType,
  args: Record<string, unknown>,
): Promise<void> => {
  try {
    await channel.assertQueue(queue, { durable: true, arguments: args });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (!message.includes('PRECONDITION_FAILED')) throw err;
    const detail = /inequivalent arg[^"]*/.exec(message)?.[0] ?? message;
    throw new QueueMismatch(queue, type, detail.trim());
  }
};

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
 * bound to the same key. Classic only: quorum queues have none (see `declareTopology`).
 */
export const declareRetryQueue = async (channel: Channel, queue: string, delayMs: number): Promise<string> => {
  const name = retryQueueOf(queue, delayMs);
  await assertQueue(channel, name, 'classic', {
    'x-message-ttl': delayMs,
    'x-dead-letter-exchange': '',
    'x-dead-letter-routing-key': queue,
  });
  return name;
};

/** Declares one queue, its dead-letter queue and its binding. */
export const declareQueue = async (
  channel: Channel,
  exchange: string,
  queue: string,
  type: QueueType = 'classic',
): Promise<void> => {
  await assertQueue(channel, deadLetterQueueOf(queue), type, typeArguments(type, false));
  await assertQueue(channel, queue, type, {
    ...typeArguments(type, true),
    ...(type === 'quorum' ? { 'x-delivery-limit': QUORUM_DELIVERY_LIMIT } : {}),
    'x-dead-letter-exchange': '',
    'x-dead-letter-routing-key': deadLetterQueueOf(queue),
  });
  await channel.bindQueue(queue, exchange, queue);
};

/**
 * Declares the exchange, queues, dead-letter queues and, on classic queues, retry queues; safe to
 * repeat. Quorum queues have no retry queues: their consumer waits out a retry's delay itself
 * (see `Consumer`).
 */
export const declareTopology = async (channel: Channel, topology: TopologyOptions = defaultTopology): Promise<void> => {
  await channel.assertExchange(topology.exchange, 'topic', { durable: true });
  const type = topology.queueType ?? 'classic';
  for (const queue of topology.queues) {
    await declareQueue(channel, topology.exchange, queue, type);
    for (const delay of topology.retry && type === 'classic' ? retryDelays(topology.retry) : [])
      await declareRetryQueue(channel, queue, delay);
  }
};
