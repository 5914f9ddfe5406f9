import { DomainError, isDomainError } from '../shared/errors.js';
import type { MessageEnvelope } from './envelope.js';

/** The broker-neutral wire form: AMQP basic properties and a JSON body. */
export interface WireMessage {
  readonly properties: {
    readonly messageId?: string | undefined;
    readonly type?: string | undefined;
    readonly correlationId?: string | undefined;
    /** Seconds since the epoch, as AMQP carries it. */
    readonly timestamp?: number | undefined;
    readonly contentType?: string | undefined;
    readonly headers?: Readonly<Record<string, unknown>> | undefined;
  };
  readonly body: Uint8Array;
}

const CAUSATION = 'x-causation-id';
const OCCURRED_AT = 'x-occurred-at';

export const encodeMessage = (envelope: MessageEnvelope): WireMessage => ({
  properties: {
    messageId: envelope.id,
    type: envelope.type,
    correlationId: envelope.correlationId,
    timestamp: Math.floor(new Date(envelope.occurredAt).getTime() / 1000),
    contentType: 'application/json',
    headers: {
      ...envelope.headers,
      [OCCURRED_AT]: envelope.occurredAt,
      ...(envelope.causationId ? { [CAUSATION]: envelope.causationId } : {}),
    },
  },
  body: new TextEncoder().encode(JSON.stringify(envelope.payload)),
});

const malformed = (message: string): DomainError => new DomainError('malformed_message', 'malformed_message', message);

/** Turns a delivery back into an envelope; throws `malformed_message` if it cannot. */
export const decodeMessage = (wire: WireMessage): MessageEnvelope => {
  const { messageId, type, correlationId, timestamp, headers = {} } = wire.properties;
  if (!messageId) throw malformed('messageId missing');
  if (!type) throw malformed('type missing');
  if (!correlationId) throw malformed('correlationId missing');
  let payload: unknown;
  try {
    payload = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(wire.body));
  } catch {
    throw malformed('body is not JSON');
  }
  const rest: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers)) {
    if (key !== CAUSATION && key !== OCCURRED_AT && typeof value === 'string') rest[key] = value;
  }
  const occurred = headers[OCCURRED_AT];
  const occurredAt = typeof occurred === 'string' ? occurred : new Date((timestamp ?? 0) * 1000).toISOString();
  const causation = headers[CAUSATION];
  return {
    id: messageId,
    type,
    correlationId,
    causationId: typeof causation === 'string' ? causation : undefined,
    occurredAt,
    payload,
    headers: rest,
  };
};

/** Whether a handler's failure is final (dead-letter now) or worth retrying. */
export const isPermanentFailure = (err: unknown): boolean =>
  isDomainError(err) && (err.kind === 'malformed_message' || err.kind === 'validation');
