import {
  context,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import { type MessageEnvelope } from '@gozon/core';
import { isPermanentFailure, type BatchHandler, type MessageHandler } from '@gozon/messaging';
import type { Logger } from 'pino';
import { errorText } from '../safe-error.js';
import { extractContext, traceFields, traceHeaders } from './tracing.js';

export interface MessageTelemetryOptions {
  readonly queue: string;
  readonly log: Logger;
  readonly tracer: Tracer;
  /** Told of every message handled: its type, the use case's answer (or how it failed), how long. */
  readonly observe?: (handled: { type: string; outcome: string; seconds: number }) => void;
}

/** The consumer span of one message, a child of the context it came with. */
const consumerSpan = (
  options: MessageTelemetryOptions,
  message: MessageEnvelope,
  parent: Context,
  extra: Attributes = {},
): Span =>
  options.tracer.startSpan(
    `${options.queue} process`,
    {
      kind: SpanKind.CONSUMER,
      attributes: {
        'messaging.destination.name': options.queue,
        'messaging.message.id': message.id,
        'messaging.message.conversation_id': message.correlationId,
        'messaging.operation.type': 'process',
        ...extra,
      },
    },
    parent,
  );

/**
 * Wraps a message use case as a handler: a consumer span continues the trace the message
 * carries, and the message handed to the use case carries that span's `traceparent` instead, so
 * whatever the use case sends on (the payment outcome) continues the same trace one hop further.
 * Each message is measured and logged in one line; a failure is rethrown for the subscriber to
 * retry or dead-letter.
 */
export const handleWithTelemetry = (
  options: MessageTelemetryOptions,
  execute: (message: MessageEnvelope) => Promise<string>,
): MessageHandler => {
  return async (message) => {
    const started = process.hrtime.bigint();
    const parent = extractContext(message.headers);
    const span = consumerSpan(options, message, parent);
    const active = trace.setSpan(parent, span);
    const traced: MessageEnvelope = { ...message, headers: { ...message.headers, ...traceHeaders(active) } };
    let outcome = 'failed';
    let error: unknown;
    try {
      outcome = await context.with(active, () => execute(traced));
    } catch (err) {
      error = err;
      // Rejected: dead-lettered at once; failed: retried (and dead-lettered past the limit).
      outcome = isPermanentFailure(err) ? 'rejected' : 'failed';
      span.recordException(err instanceof Error ? err : String(err));
      span.setStatus({ code: SpanStatusCode.ERROR });
      throw err;
    } finally {
      span.setAttribute('gozon.outcome', outcome);
      span.end();
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      options.observe?.({ type: message.type, outcome, seconds });
      const line = {
        queue: options.queue,
        type: message.type,
        message_id: message.id,
        correlation_id: message.correlationId,
        outcome,
        duration_ms: Math.round(seconds * 1e6) / 1e3,
        ...traceFields(span),
      };
      if (error === undefined) options.log.info(line, 'message handled');
      else options.log.warn({ ...line, err: errorText(error) }, 'message failed');
    }
  };
};

/**
 * Wraps a use case's batch form as a batch handler: a consumer span per message, as above, and,
 * once the batch committed, each message measured and logged in its own line (with the batch's
 * size and duration). A failed batch logs nothing: each of its messages is then handled alone,
 * through the one-message handler, which logs it.
 */
export const handleBatchWithTelemetry = (
  options: MessageTelemetryOptions,
  executeAll: (messages: readonly MessageEnvelope[]) => Promise<string[]>,
): BatchHandler => {
  return async (messages) => {
    const started = process.hrtime.bigint();
    const parents = messages.map((message) => extractContext(message.headers));
    const spans = messages.map((message, i) =>
      consumerSpan(options, message, parents[i]!, { 'messaging.batch.message_count': messages.length }),
    );
    const traced = messages.map((message, i): MessageEnvelope => ({
      ...message,
      headers: { ...message.headers, ...traceHeaders(trace.setSpan(parents[i]!, spans[i]!)) },
    }));
    let outcomes: string[];
    try {
      outcomes = await executeAll(traced);
    } catch (err) {
      for (const span of spans) span.end();
      throw err;
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    messages.forEach((message, i) => {
      const span = spans[i]!;
      const outcome = outcomes[i] ?? 'failed';
      span.setAttribute('gozon.outcome', outcome);
      span.end();
      options.observe?.({ type: message.type, outcome, seconds });
      options.log.info(
        {
          queue: options.queue,
          type: message.type,
          message_id: message.id,
          correlation_id: message.correlationId,
          outcome,
          duration_ms: Math.round(seconds * 1e6) / 1e3,
          batch: messages.length,
          ...traceFields(span),
        },
        'message handled',
      );
    });
  };
};
