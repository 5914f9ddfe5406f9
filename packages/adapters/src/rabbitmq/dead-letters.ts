import type { WireMessage } from '@gozon/messaging';
import type { Channel, GetMessage } from 'amqplib';
import { publishConfirmed } from './confirm.js';
import type { RabbitConnection } from './connection.js';
import { ATTEMPTS_HEADER, WAITS_HEADER } from './wire.js';
import { deadLetterQueueOf } from './topology.js';
import { contentOf, fromAmqp, publishOptions } from './wire.js';

/** A message in a dead-letter queue, with why it got there. */
export interface DeadLetter {
  /** The queue it was dead-lettered from, and will be replayed to. */
  readonly queue: string;
  readonly message: WireMessage;
  /** RabbitMQ's reason (`rejected`, `expired`, …) and how often it was dead-lettered. */
  readonly reason: string | undefined;
  readonly deaths: number;
  /** Deliveries the consumer made before giving up, where it counted them. */
  readonly attempts: number | undefined;
  /** The RabbitMQ user that published it, when it carried a (broker-validated) userId. */
  readonly publishedBy: string | undefined;
}

const deathOf = (message: GetMessage): { reason: string | undefined; deaths: number } => {
  const deaths = (message.properties.headers?.['x-death'] ?? []) as Array<{ reason?: unknown; count?: unknown }>;
  const first = deaths[0];
  return {
    reason: typeof first?.reason === 'string' ? first.reason : undefined,
    deaths: typeof first?.count === 'number' ? first.count : deaths.length,
  };
};

/**
 * Operators' view of the dead-letter queues: list and show what is there, and replay a message
 * to the queue it came from with its original messageId. A replay goes through the consumer's
 * inbox like any delivery, so replaying a message whose effect already happened changes nothing.
 */
export class RabbitDeadLetters {
  constructor(
    private readonly connection: RabbitConnection,
    private readonly queues: readonly string[],
  ) {}

  /** Every dead letter, queue by queue; the messages stay where they are. */
  async list(): Promise<DeadLetter[]> {
    const all: DeadLetter[] = [];
    for (const queue of this.queues) {
      await this.withChannel(async (channel) => {
        // Held unacknowledged, each is handed out once; closing the channel puts them all back.
        for (
          let m = await channel.get(deadLetterQueueOf(queue));
          m !== false;
          m = await channel.get(deadLetterQueueOf(queue))
        ) {
          all.push(this.letter(queue, m));
        }
      });
    }
    return all;
  }

  /**
   * Moves the dead letters `which` selects back to their queue: each is published (confirmed)
   * with its original properties and a fresh attempt count, and only then removed from the DLQ.
   * Not its userId: RabbitMQ would check it against the operator's own user and refuse it, so a
   * replay carries none and consumers accept it — whoever may replay is trusted.
   * Returns the ids replayed.
   */
  async replay(which: (letter: DeadLetter) => boolean): Promise<string[]> {
    const replayed: string[] = [];
    for (const queue of this.queues) {
      await this.withChannel(async (channel) => {
        const confirm = await this.connection.current().createConfirmChannel();
        try {
          for (
            let m = await channel.get(deadLetterQueueOf(queue));
            m !== false;
            m = await channel.get(deadLetterQueueOf(queue))
          ) {
            const letter = this.letter(queue, m);
            if (!which(letter)) continue; // left unacknowledged: back in the DLQ when the channel closes
            const options = publishOptions(letter.message);
            const headers = { ...options.headers };
            delete headers[ATTEMPTS_HEADER];
            delete headers[WAITS_HEADER];
            await publishConfirmed(confirm, [
              { exchange: '', routingKey: queue, content: contentOf(letter.message), options: { ...options, headers } },
            ]);
            channel.ack(m);
            replayed.push(letter.message.properties.messageId ?? '(no id)');
          }
        } finally {
          await confirm.close().catch(() => undefined);
        }
      });
    }
    return replayed;
  }

  private letter(queue: string, message: GetMessage): DeadLetter {
    const wire = fromAmqp(message);
    const attempts = message.properties.headers?.[ATTEMPTS_HEADER];
    const userId: unknown = message.properties.userId;
    return {
      queue,
      message: wire,
      ...deathOf(message),
      attempts: typeof attempts === 'number' ? attempts : undefined,
      publishedBy: typeof userId === 'string' ? userId : undefined,
    };
  }

  private async withChannel<T>(work: (channel: Channel) => Promise<T>): Promise<T> {
    const channel = await this.connection.current().createChannel();
    channel.on('error', () => undefined);
    try {
      return await work(channel);
    } finally {
      await channel.close().catch(() => undefined);
    }
  }
}
