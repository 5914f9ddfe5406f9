import { type OutgoingMessage } from '@gozon/core';
import { encodeMessage, type MessagePublisher } from '@gozon/messaging';
import type { ChannelModel, ConfirmChannel } from 'amqplib';
import { publishConfirmed } from './confirm.js';
import type { RabbitConnection } from './connection.js';
import { DEFAULT_EXCHANGE } from './topology.js';
import { contentOf, publishOptions } from './wire.js';

export interface RabbitPublisherOptions {
  /** The topic exchange to publish to (`AMQP_EXCHANGE`). */
  readonly exchange?: string;
  /**
   * The AMQP `userId` every message carries: the connection's own user (see `userOf`), which
   * RabbitMQ checks, so a consumer can trust it. A mismatch makes the broker close the channel,
   * and the publish fails.
   */
  readonly userId?: string | undefined;
}

/**
 * Publishes on a confirm channel of its own, persistent and `mandatory`, so a message no queue
 * takes fails the batch rather than vanishing. While the connection is down `publish` rejects at
 * once: the relay keeps the rows and tries again later.
 */
export class RabbitPublisher implements MessagePublisher {
  private readonly exchange: string;
  private readonly userId: string | undefined;
  private channel: { model: ChannelModel; ready: Promise<ConfirmChannel> } | null = null;

  constructor(
    private readonly connection: RabbitConnection,
    options: RabbitPublisherOptions = {},
  ) {
    this.exchange = options.exchange ?? DEFAULT_EXCHANGE;
    this.userId = options.userId;
  }

  async publish(messages: readonly OutgoingMessage[]): Promise<void> {
    if (messages.length === 0) return;
    const channel = await this.confirmChannel();
    const signed = this.userId === undefined ? {} : { userId: this.userId };
    await this.confirmed(channel, () =>
      publishConfirmed(
        channel,
        messages.map((m) => {
          const wire = encodeMessage(m.envelope);
          return {
            exchange: this.exchange,
            routingKey: m.routingKey,
            content: contentOf(wire),
            options: { ...publishOptions(wire), ...signed, mandatory: true },
          };
        }),
      ),
    );
  }

  /**
   * Runs one batch; when it fails, the next batch gets a channel of its own. A quorum queue's
   * leader can die mid-batch: the channel that published to it may then keep nacking every later
   * publish (seen on RabbitMQ 3.10 after a kill -9 of the leader's node), while a new channel is
   * confirmed at once.
   */
  private async confirmed(channel: ConfirmChannel, publish: () => Promise<void>): Promise<void> {
    try {
      await publish();
    } catch (err) {
      const current = this.channel;
      if (current && (await current.ready.catch(() => null)) === channel) {
        this.channel = null;
        await channel.close().catch(() => undefined);
      }
      throw err;
    }
  }

  /** Closes the publisher's channel; the connection stays open. */
  async close(): Promise<void> {
    const current = this.channel;
    this.channel = null;
    if (current) await (await current.ready.catch(() => null))?.close().catch(() => undefined);
  }

  // One channel per connection, opened on first use and again after it or the connection closed.
  private confirmChannel(): Promise<ConfirmChannel> {
    const model = this.connection.current();
    if (this.channel?.model === model) return this.channel.ready;
    const ready = model.createConfirmChannel().then((channel) => {
      channel.setMaxListeners(0); // every batch in flight listens for close, drain and return
      channel.on('error', (err: Error) => this.connection.report('publisher channel', err));
      channel.on('close', () => {
        if (this.channel?.ready === ready) this.channel = null;
      });
      return channel;
    });
    this.channel = { model, ready };
    ready.catch(() => {
      if (this.channel?.ready === ready) this.channel = null;
    });
    return ready;
  }
}
