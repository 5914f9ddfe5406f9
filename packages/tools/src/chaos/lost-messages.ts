// Messages lost on the broker: what an operator's purge or a batch dead-lettered and never replayed
// leaves behind. The orders service's reconciliation is what must heal them.
import { Routes } from '@gozon/core';
import { deadLetterQueueOf } from '@gozon/adapters/rabbitmq';
import { connect, type Channel } from 'amqplib';

/** The queues whose messages a lost-message fault takes. */
export const LOSABLE_QUEUES = [Routes.orderPayments, Routes.paymentStatus] as const;

/** Messages a `dead-letter a batch` fault moves at most. */
export const DEAD_LETTER_BATCH = 50;

/** Messages taken from each queue over a run, by how. */
export class LostMessages {
  readonly purged = new Map<string, number>();
  readonly deadLettered = new Map<string, number>();

  add(how: 'purged' | 'deadLettered', queue: string, count: number): void {
    this[how].set(queue, (this[how].get(queue) ?? 0) + count);
  }

  total(how: 'purged' | 'deadLettered'): number {
    return [...this[how].values()].reduce((a, b) => a + b, 0);
  }
}

const withChannel = async <T>(url: string, work: (channel: Channel) => Promise<T>): Promise<T> => {
  const connection = await connect(url);
  connection.on('error', () => undefined);
  try {
    const channel = await connection.createChannel();
    channel.on('error', () => undefined); // the rejected call reports it
    return await work(channel);
  } finally {
    await connection.close().catch(() => undefined);
  }
};

/** Drops every message waiting in `queue`; how many there were (the broker's own count). */
export const purgeQueue = (url: string, queue: string): Promise<number> =>
  withChannel(url, async (channel) => (await channel.purgeQueue(queue)).messageCount);

/**
 * Takes up to `limit` waiting messages of `queue` and rejects them without requeueing: the broker
 * dead-letters them to `<queue>.dlq` itself, every property kept (it adds an `x-death` header),
 * and there they stay. Returns how many were moved.
 */
export const deadLetterBatch = (url: string, queue: string, limit: number): Promise<number> =>
  withChannel(url, async (channel) => {
    await channel.checkQueue(deadLetterQueueOf(queue)); // the queue dead-letters somewhere that exists
    let taken = 0;
    while (taken < limit && (await channel.get(queue, { noAck: false })) !== false) taken += 1;
    // One reject of every message handed out on this channel.
    if (taken > 0) channel.nackAll(false);
    // A round trip after the reject, so the broker has dead-lettered them before the channel closes.
    await channel.checkQueue(queue);
    return taken;
  });
