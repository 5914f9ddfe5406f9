import type { WireMessage } from '@gozon/messaging';
import type { Message, Options } from 'amqplib';

// The attempt count travels in the same header as with the in-memory broker.
export { ATTEMPTS_HEADER, attemptOf, retryCopy, WAITS_HEADER, waitsOf, withAttempt } from '../in-memory/messaging.js';

// Headers RabbitMQ adds when it dead-letters a message (here: when a retry queue hands it back).
// They describe the broker's bookkeeping, not the message, so they are neither passed to
// handlers nor copied onto a retry, where they would only grow.
const BROKER_HEADER = /^x-(death|first-death-|last-death-)/;

const ownHeaders = (headers: Readonly<Record<string, unknown>> | undefined): Record<string, unknown> => {
  const kept: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(headers ?? {})) if (!BROKER_HEADER.test(key)) kept[key] = value;
  return kept;
};

/** A delivery as the codec reads it. */
export const fromAmqp = (message: Message): WireMessage => {
  const p = message.properties;
  const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
  return {
    properties: {
      messageId: str(p.messageId),
      type: str(p.type),
      correlationId: str(p.correlationId),
      timestamp: typeof p.timestamp === 'number' ? p.timestamp : undefined,
      contentType: str(p.contentType),
      headers: ownHeaders(p.headers as Record<string, unknown> | undefined),
    },
    body: message.content,
  };
};

/** The AMQP properties a message is published with: always persistent. */
export const publishOptions = (message: WireMessage): Options.Publish => {
  const { messageId, type, correlationId, timestamp, contentType, headers } = message.properties;
  const options: Options.Publish = { persistent: true, headers: ownHeaders(headers) };
  if (messageId !== undefined) options.messageId = messageId;
  if (type !== undefined) options.type = type;
  if (correlationId !== undefined) options.correlationId = correlationId;
  if (timestamp !== undefined) options.timestamp = timestamp;
  if (contentType !== undefined) options.contentType = contentType;
  return options;
};

export const contentOf = (message: WireMessage): Buffer =>
  Buffer.from(message.body.buffer, message.body.byteOffset, message.body.byteLength);
