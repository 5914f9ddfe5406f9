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
    let unconfirmed = batch.length;
    let settled = false;
    let drained: (() => void) | null = null;
    const ids = new Set(batch.map((m) => m.options.messageId).filter((id) => id !== undefined));

    const onReturn = (returned: { properties: { messageId?: unknown } }): void => {
      const id = returned.properties.messageId;
      if (typeof id === 'string' && ids.has(id)) fail(new Error(`message ${id} is unroutable`));
    };
    // The broker closes the channel on a refused publish (a routing key the user may not use, a
    // userId not its own); its error, which says why, comes just before the close.
    const onError = (err: unknown): void => fail(err);
    const onClose = (): void => fail(new Error('channel closed before every message was confirmed'));
    const onDrain = (): void => drained?.();
    channel.on('return', onReturn);
    channel.on('error', onError);
    channel.on('close', onClose);
    channel.on('drain', onDrain);

    function finish(): void {
      settled = true;
      channel.off('return', onReturn);
      channel.off('error', onError);
      channel.off('close', onClose);
      channel.off('drain', onDrain);
      drained?.();
    }
    function fail(err: unknown): void {
      if (settled) return;
      finish();
      reject(err instanceof Error ? err : new Error(String(err)));
    }
    const confirmed = (err: unknown): void => {
      if (err) return fail(err);
      unconfirmed -= 1;
      if (unconfirmed === 0 && !settled) {
        finish();
        resolve();
      }
    };

    const write = async (): Promise<void> => {
      for (const m of batch) {
        if (settled) return;
        // Throws at once when the channel is already closed.
        const room = channel.publish(m.exchange, m.routingKey, m.content, m.options, confirmed);
        if (!room && !settled) await new Promise<void>((go) => (drained = go));
        drained = null;
      }
    };
    write().catch(fail);
  });
