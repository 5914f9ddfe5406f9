// The baseline both measure scripts compare against: amqplib alone, one confirm wait per batch.
import type { OutgoingMessage } from '@gozon/core';
import { encodeMessage } from '@gozon/messaging';
import { contentOf, DEFAULT_EXCHANGE, publishOptions, type RabbitConnection } from '@gozon/adapters/rabbitmq';

/** Publishes `batches` on a confirm channel of its own, waiting for the broker's confirms after each batch. */
export const publishRaw = async (
  connection: RabbitConnection,
  batches: readonly (readonly OutgoingMessage[])[],
): Promise<void> => {
  const raw = await connection.current().createConfirmChannel();
  try {
    for (const batch of batches) {
      for (const m of batch) {
        const wire = encodeMessage(m.envelope);
        if (!raw.publish(DEFAULT_EXCHANGE, m.routingKey, contentOf(wire), publishOptions(wire))) {
          await new Promise((resolve) => raw.once('drain', resolve));
        }
      }
      await raw.waitForConfirms();
    }
  } finally {
    await raw.close();
  }
};
