import type { ConfirmChannel, Options } from 'amqplib';

/** One message to put on a confirm channel. */
export interface Outgoing {
  readonly exchange: string;
  readonly routingKey: string;
  readonly content: Buffer;
  readonly options: Options.Publish;
}

/**
 * Publishes every message and resolves once the broker has confirmed all of them: the confirms
 * are awaited together, not one by one. Rejects on the first nack, on a `mandatory` message the
 * broker returned as unroutable, on a channel error (with the broker's reason), or when the
 * channel closes before every confirm is in. Honours back-pressure: when the channel's buffer is
 * full, it waits for `drain` before writing on.
 */
export const publishConfirmed = (channel: ConfirmChannel, batch: readonly Outgoing[]): Promise<void> =>
  new Promise<void>((resolve, reject) => {
    if (batch.length === 0) return resolve();
    const confirms = new Confirms(channel, batch, resolve, reject);
    confirms.write().catch(confirms.fail);
  });

/** One batch's way through a confirm channel: its writes, the confirms it waits for, and how it ends. */
class Confirms {
  private unconfirmed: number;
  private settled = false;
  private drained: (() => void) | null = null;
  private readonly ids: Set<string>;

  constructor(
    private readonly channel: ConfirmChannel,
    private readonly batch: readonly Outgoing[],
    private readonly resolve: () => void,
    private readonly reject: (err: Error) => void,
  ) {
    this.unconfirmed = batch.length;
    this.ids = new Set(batch.map((m) => m.options.messageId).filter((id) => id !== undefined));
    channel.on('return', this.onReturn);
    channel.on('error', this.fail);
    channel.on('close', this.onClose);
    channel.on('drain', this.onDrain);
  }

  async write(): Promise<void> {
    for (const m of this.batch) {
      if (this.settled) return;
      // Throws at once when the channel is already closed.
      const room = this.channel.publish(m.exchange, m.routingKey, m.content, m.options, this.confirmed);
      if (!room && !this.settled) await new Promise<void>((go) => (this.drained = go));
      this.drained = null;
    }
  }

  // The broker closes the channel on a refused publish (a routing key the user may not use, a
  // userId not its own); its error, which says why, comes just before the close.
  readonly fail = (err: unknown): void => {
    if (this.settled) return;
    this.finish();
    this.reject(err instanceof Error ? err : new Error(String(err)));
  };

  private readonly confirmed = (err: unknown): void => {
    if (err) return this.fail(err);
    this.unconfirmed -= 1;
    if (this.unconfirmed === 0 && !this.settled) {
      this.finish();
      this.resolve();
    }
  };

  private readonly onReturn = (returned: { properties: { messageId?: unknown } }): void => {
    const id = returned.properties.messageId;
    if (typeof id === 'string' && this.ids.has(id)) this.fail(new Error(`message ${id} is unroutable`));
  };

  private readonly onClose = (): void => this.fail(new Error('channel closed before every message was confirmed'));

  private readonly onDrain = (): void => this.drained?.();

  private finish(): void {
    this.settled = true;
    this.channel.off('return', this.onReturn);
    this.channel.off('error', this.fail);
    this.channel.off('close', this.onClose);
    this.channel.off('drain', this.onDrain);
    this.drained?.();
  }
}
