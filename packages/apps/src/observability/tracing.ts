import { randomFillSync } from 'node:crypto';
import {
  context,
  propagation,
  ROOT_CONTEXT,
  trace,
  TraceFlags,
  type Context,
  type Span,
  type SpanOptions,
  type TextMapGetter,
  type Tracer,
  type TracerProvider,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { TracingConfig } from '../config.js';

/** The process's tracing: what it exports to (for the start-up line) and how to flush it. */
export interface Tracing {
  readonly exporter: string;
  shutdown(): Promise<void>;
}

let installed: Tracing | undefined;

/** Random bytes drawn from a refilled pool: ids need strong randomness but not a syscall each. */
const pool = Buffer.alloc(4096);
let poolAt = pool.length;
const randomHex = (bytes: number): string => {
  for (;;) {
    if (poolAt + bytes > pool.length) {
      randomFillSync(pool);
      poolAt = 0;
    }
    const hex = pool.toString('hex', poolAt, (poolAt += bytes));
    if (/[^0]/.test(hex)) return hex; // an all-zero id is invalid
  }
};

/**
 * Spans with real trace and span ids, continuing the parent's trace, that record nothing: what
 * the logs and the messages need when no exporter is set, at a fraction of a recorded span's cost.
 */
const idOnlyTracer: Tracer = {
  startSpan(_name: string, _options?: SpanOptions, ctx: Context = context.active()): Span {
    const parent = trace.getSpanContext(ctx);
    const continued = parent !== undefined && trace.isSpanContextValid(parent);
    return trace.wrapSpanContext({
      traceId: continued ? parent.traceId : randomHex(16),
      spanId: randomHex(8),
      traceFlags: continued ? parent.traceFlags : TraceFlags.SAMPLED,
      ...(continued && parent.traceState ? { traceState: parent.traceState } : {}),
    });
  },
  startActiveSpan<F extends (span: Span) => unknown>(name: string, ...args: unknown[]): ReturnType<F> {
    const fn = args[args.length - 1] as F;
    const options = args.length > 1 ? (args[0] as SpanOptions) : undefined;
    const ctx = args.length > 2 ? (args[1] as Context) : context.active();
    const span = idOnlyTracer.startSpan(name, options, ctx);
    return context.with(trace.setSpan(ctx, span), () => fn(span)) as ReturnType<F>;
  },
};

const idOnlyTracerProvider: TracerProvider = { getTracer: () => idOnlyTracer };

type ExporterOptions = NonNullable<ConstructorParameters<typeof OTLPTraceExporter>[0]>;
/** The exporter types its compression as an enum of these very strings. */
const exportCompression = (compression: TracingConfig['compression']) => compression as ExporterOptions['compression'];

/**
 * Installs a tracer provider, the W3C trace-context propagator and an AsyncLocalStorage context
 * manager, once per process. Spans always get real ids (they go into the logs and the messages);
 * they leave the process only when OTLP is configured by its standard variables (`Config.tracing`).
 */
export const installTracing = (
  serviceName: string,
  settings: Partial<TracingConfig> = {},
  /**
   * Whether a span is active for the code it wraps (an AsyncLocalStorage context manager). The
   * services need it: their use cases and log lines find the span of the request or message they
   * run in. A process that passes contexts explicitly (the gateway alone) is spared its cost on
   * every promise.
   */
  activeContext = true,
): Tracing => {
  if (installed) return installed;
  const { endpoint, headers, timeoutMillis, compression } = settings;
  // What is given here wins over what the exporter would read from the environment itself, so
  // the values it uses are the ones the configuration checked.
  const exporter = (url: string) =>
    new OTLPTraceExporter({ url, headers: { ...headers }, timeoutMillis, compression: exportCompression(compression) });
  // Recorded spans only when they go somewhere; otherwise spans that carry ids and nothing else.
  const provider = endpoint
    ? new BasicTracerProvider({
        resource: resourceFromAttributes({ 'service.name': settings.serviceName ?? serviceName }),
        spanProcessors: [new BatchSpanProcessor(exporter(endpoint))],
      })
    : idOnlyTracerProvider;
  if (activeContext) context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  installed = {
    // The endpoint may carry credentials in its userinfo or query: name the kind only.
    exporter: endpoint ? 'otlp (http/json)' : 'none (ids in logs only)',
    shutdown: () => (provider instanceof BasicTracerProvider ? provider.shutdown() : Promise.resolve()),
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
