import type { IdGenerator } from '../shared/id-generator.js';
import { routeOf, type ContractMessage } from './messages.js';

/** A message as the domain sees it, independent of the broker that carries it. */
export interface MessageEnvelope<P = unknown> {
  /** Unique per message; stable across redelivery and republishing (AMQP `messageId`). */
  readonly id: string;
  /** What happened or is asked for, e.g. `payment.requested` (AMQP `type`). */
  readonly type: string;
  /** The order the message is about (AMQP `correlationId`). */
  readonly correlationId: string;
  /** The id of the message that caused this one, if any. */
  readonly causationId?: string | undefined;
  /** When the message was created (AMQP `timestamp`, ISO 8601 here). */
  readonly occurredAt: string;
  /** The body, exactly as the contract lists it. */
  readonly payload: P;
  /** Extra headers carried along (trace context and the like). */
  readonly headers: Readonly<Record<string, string>>;
}

/** A message on its way out: an envelope and the routing key it is published with. */
export interface OutgoingMessage<P = unknown> {
  /** The routing key (and queue) the message goes to. */
  readonly routingKey: string;
  /** The message itself. */
  readonly envelope: MessageEnvelope<P>;
}

/** The headers a message passes on to the messages it causes: its W3C trace context, nothing else. */
export const TRACE_CONTEXT_HEADERS: readonly string[] = ['traceparent', 'tracestate'];

/**
 * The part of `headers` that travels on to what a message (or request) causes. Anything else a
 * publisher put on a message stays with it: copied along, headers would pass unchecked from one
 * service to the next and grow with every hop.
 */
export const traceContextOf = (headers: Readonly<Record<string, string>> = {}): Record<string, string> => {
  const kept: Record<string, string> = {};
  for (const name of TRACE_CONTEXT_HEADERS) {
    const value = headers[name];
    if (value !== undefined) kept[name] = value;
  }
  return kept;
};

/** Where outgoing messages come from: when, with which ids, and what caused them. */
export interface MessageOrigin {
  /** Gives each message its id. */
  readonly ids: IdGenerator;
  /** When they happened. */
  readonly at: Date;
  /** The message being handled, if any: it becomes the cause, and its trace context travels on. */
  readonly cause?: MessageEnvelope;
  /** The trace context of the request that asked for them, where no message did. */
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * The one way a message of the contract is put on its way: an envelope whose correlation id is
 * the order, with the routing key its type goes to. Every message a use case appends is made here.
 */
export const outgoing = (messages: readonly ContractMessage[], origin: MessageOrigin): OutgoingMessage[] =>
  messages.map(({ type, body }) => ({
    routingKey: routeOf(type),
    envelope: {
      id: origin.ids.next(),
      type,
      correlationId: body.order_id,
      ...(origin.cause ? { causationId: origin.cause.id } : {}),
      occurredAt: origin.at.toISOString(),
      payload: body,
      headers: traceContextOf(origin.cause?.headers ?? origin.headers),
    },
  }));
