import {
  context,
  propagation,
  ROOT_CONTEXT,
  trace,
  type Context,
  type Span,
  type TextMapGetter,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';

/** The process's tracing: what it exports to (for the start-up line) and how to flush it. */
export interface Tracing {
  readonly exporter: string;
  shutdown(): Promise<void>;
}

let installed: Tracing | undefined;

const set = (value: string | undefined): string | undefined => (value?.trim() ? value.trim() : undefined);

/**
 * Installs a tracer provider, the W3C trace-context propagator and an AsyncLocalStorage context
 * manager, once per process. Spans always get real ids (they go into the logs and the messages);
 * they leave the process only when OTLP is configured by its standard variables.
 */
export const installTracing = (serviceName: string, env: NodeJS.ProcessEnv = process.env): Tracing => {
  if (installed) return installed;
  const endpoint = set(env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT']) ?? set(env['OTEL_EXPORTER_OTLP_ENDPOINT']);
  // The exporter reads the OTEL_EXPORTER_OTLP_* variables itself (endpoint, headers, timeout).
  const spanProcessors = endpoint ? [new BatchSpanProcessor(new OTLPTraceExporter())] : [];
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': set(env['OTEL_SERVICE_NAME']) ?? serviceName }),
    spanProcessors,
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  installed = {
    // The endpoint may carry credentials in its userinfo or query: name the kind only.
    exporter: endpoint ? 'otlp (http/json)' : 'none (ids in logs only)',
    shutdown: () => provider.shutdown(),
  };
  return installed;
};

type Carrier = Readonly<Record<string, string | string[] | undefined>>;

const getter: TextMapGetter<Carrier> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => carrier[key],
};

/** The trace context a request or message came with (the root context if it carried none). */
export const extractContext = (carrier: Carrier): Context => propagation.extract(ROOT_CONTEXT, carrier, getter);

/** The `traceparent` (and `tracestate`) that continue `ctx`, to put on what it sends on. */
export const traceHeaders = (ctx: Context = context.active()): Record<string, string> => {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  return carrier;
};

/** `trace_id` and `span_id` of `span` for a log line; nothing when tracing is not installed. */
export const traceFields = (
  span: Span | undefined = trace.getActiveSpan(),
): { trace_id?: string; span_id?: string } => {
  const spanContext = span?.spanContext();
  if (!spanContext || !trace.isSpanContextValid(spanContext)) return {};
  return { trace_id: spanContext.traceId, span_id: spanContext.spanId };
};
