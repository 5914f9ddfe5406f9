import { DomainError, isDomainError, MAX_MESSAGE_ID, type MessageEnvelope, textProblem } from '@gozon/core';

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

/** Most headers a message may carry: ours use six (trace context, time, cause, retry counts). */
export const MAX_HEADERS = 16;
/** Longest header value, in characters (a `traceparent` is 55; a `tracestate` at most 512). */
export const MAX_HEADER_VALUE = 1024;
/** Largest body: our bodies are about 150 bytes; anything near this is not one of ours. */
export const MAX_BODY_BYTES = 64 * 1024;

// What the codec takes of a property or header: short text that keeps to the text rule, since it
// goes on into logs, spans, inbox keys and the messages this one causes.
const checkString = (value: string, name: string, max: number): void => {
  if (value.length > max) throw malformed(`${name} is longer than ${max} characters`);
  const problem = textProblem(value, name);
  if (problem !== undefined) throw malformed(problem);
};

// A header that is not a string (a retry count, or something a foreign publisher sent) is
// measured as JSON; one that cannot be is refused.
const headerSize = (value: unknown): number => {
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) return 0;
  try {
    return JSON.stringify(value)?.length ?? 0;
  } catch {
    return Infinity;
  }
};

const checkHeaders = (headers: Readonly<Record<string, unknown>>): void => {
  const entries = Object.entries(headers);
  if (entries.length > MAX_HEADERS) throw malformed(`more than ${MAX_HEADERS} headers`);
  for (const [name, value] of entries) {
    checkString(name, 'a header name', MAX_HEADER_VALUE);
    if (typeof value === 'string') checkString(value, `header ${name}`, MAX_HEADER_VALUE);
    else if (headerSize(value) > MAX_HEADER_VALUE) throw malformed(`header ${name} is larger than ${MAX_HEADER_VALUE}`);
  }
};

/** Every string in the body, at any depth, keeps to the text rule (walked without recursion). */
const checkBodyText = (payload: unknown): void => {
  const pending: unknown[] = [payload];
  while (pending.length > 0) {
    const value = pending.pop();
    if (typeof value === 'string') {
      const problem = textProblem(value, 'a text field of the body');
      if (problem !== undefined) throw malformed(problem);
    } else if (typeof value === 'object' && value !== null) {
      for (const [key, inner] of Object.entries(value)) pending.push(key, inner);
    }
  }
};

const parseBody = (body: Uint8Array): unknown => {
  if (body.byteLength > MAX_BODY_BYTES) throw malformed(`body is larger than ${MAX_BODY_BYTES} bytes`);
  let payload: unknown;
  try {
    payload = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch {
    throw malformed('body is not JSON');
  }
  checkBodyText(payload);
  return payload;
};

/**
 * Turns a delivery back into an envelope; throws `malformed_message` if it cannot, or if it is
 * over a limit: a message id, type or correlation id over `MAX_MESSAGE_ID` characters, more than
 * `MAX_HEADERS` headers, one over `MAX_HEADER_VALUE`, or text that breaks the text rule.
 */
export const decodeMessage = (wire: WireMessage): MessageEnvelope => {
  const { messageId, type, correlationId, timestamp, headers = {} } = wire.properties;
  if (!messageId) throw malformed('messageId missing');
  if (!type) throw malformed('type missing');
  if (!correlationId) throw malformed('correlationId missing');
  checkString(messageId, 'messageId', MAX_MESSAGE_ID);
  checkString(type, 'type', MAX_MESSAGE_ID);
  checkString(correlationId, 'correlationId', MAX_MESSAGE_ID);
  checkHeaders(headers);
  const payload = parseBody(wire.body);
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
