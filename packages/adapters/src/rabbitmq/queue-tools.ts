import type { WireMessage } from '@gozon/messaging';
import type { Channel } from 'amqplib';
import type { RabbitConnection } from './connection.js';
import { fromAmqp } from './wire.js';

/**
 * Operator and test helpers on queues, e.g. dead-letter queues. Each call uses a short-lived
 * channel of its own, since asking about a missing queue closes the channel that asked.
 */
export class RabbitQueueTools {
  constructor(private readonly connection: RabbitConnection) {}

  /** Removes and returns up to `limit` waiting messages, oldest first. */
  take(queue: string, limit = Number.POSITIVE_INFINITY): Promise<WireMessage[]> {
    return this.withChannel(async (channel) => {
      const taken: WireMessage[] = [];
      while (taken.length < limit) {
        const message = await channel.get(queue, { noAck: true });
        if (message === false) break;
        taken.push(fromAmqp(message));
      }
      return taken;
    });
  }

  /** Returns copies of the waiting messages and leaves them in the queue. */
  peek(queue: string): Promise<WireMessage[]> {
    return this.withChannel(async (channel) => {
      // Held unacknowledged, each message is handed out once; closing the channel puts them back.
      const seen: WireMessage[] = [];
      for (let message = await channel.get(queue); message !== false; message = await channel.get(queue)) {
        seen.push(fromAmqp(message));
      }
      return seen;
    });
  }

  /** Messages waiting in the queue (not those handed out and unacknowledged). */
  depth(queue: string): Promise<number> {
    return this.withChannel(async (channel) => (await channel.checkQueue(queue)).messageCount);
  }

  /** Drops every waiting message; returns how many there were. */
  purge(queue: string): Promise<number> {
    return this.withChannel(async (channel) => (await channel.purgeQueue(queue)).messageCount);
  }

  private async withChannel<T>(work: (channel: Channel) => Promise<T>): Promise<T> {
    const channel = await this.connection.current().createChannel();
    channel.on('error', () => undefined); // the rejected call reports it
    try {
      return await work(channel);
    } finally {
      await channel.close().catch(() => undefined);
    }
  }
}
