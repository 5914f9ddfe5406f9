import { randomUUID } from 'node:crypto';
import { context, SpanKind, SpanStatusCode, trace, type Tracer } from '@opentelemetry/api';
import type { Context, Middleware } from 'koa';
import type { Logger } from 'pino';
import { extractContext, traceFields, traceHeaders } from './tracing.js';

export interface RequestTelemetryOptions {
  readonly log: Logger;
  readonly tracer: Tracer;
  /** Told of every answered request (e.g. a histogram); `route` is a pattern, never a raw path. */
  readonly observe?: (request: { method: string; route: string; status: number; seconds: number }) => void;
  /** The route label; by default the pattern @koa/router matched, or `unmatched`. */
  readonly route?: (ctx: Context) => string;
  /** Puts the request id and this span's trace context on the request itself, for a proxy to pass on. */
  readonly forward?: boolean;
}

/** Probes and scrapes: counted, but logged only at debug so they do not drown the requests. */
const QUIET = new Set(['/healthz', '/readyz', '/metrics']);

const REQUEST_ID = /^[\x21-\x7e]{1,128}$/;

const matchedRoute = (ctx: Context): string => {
  const matched = (ctx as { _matchedRoute?: unknown })._matchedRoute;
  return typeof matched === 'string' ? matched : 'unmatched';
};

/**
 * The outermost middleware: takes the request id (`x-request-id`, or a new one, echoed back),
 * continues the caller's trace (`traceparent`) or starts one in a server span active for the
 * rest of the request, and when the answer is known, measures and logs it in one line.
 */
export const requestTelemetry = (options: RequestTelemetryOptions): Middleware => {
  const routeOf = options.route ?? matchedRoute;
  return async (ctx, next) => {
    const started = process.hrtime.bigint();
    const incoming = ctx.get('x-request-id');
    const requestId = REQUEST_ID.test(incoming) ? incoming : randomUUID();
    ctx.set('x-request-id', requestId);
    const parent = extractContext(ctx.headers);
    const span = options.tracer.startSpan(ctx.method, { kind: SpanKind.SERVER }, parent);
    const active = trace.setSpan(parent, span);
    if (options.forward) {
      ctx.req.headers['x-request-id'] = requestId;
      Object.assign(ctx.req.headers, traceHeaders(active));
    }
    let failed = false;
    try {
      await context.with(active, next);
    } catch (err) {
      failed = true;
      throw err;
    } finally {
      const status = failed ? 500 : ctx.status;
      const route = routeOf(ctx);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      span.updateName(`${ctx.method} ${route}`);
      span.setAttributes({
        'http.request.method': ctx.method,
        'http.route': route,
        'http.response.status_code': status,
      });
      if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
      options.observe?.({ method: ctx.method, route, status, seconds });
      const line = {
        method: ctx.method,
        route,
        path: ctx.path,
        status,
        duration_ms: Math.round(seconds * 1e6) / 1e3,
        request_id: requestId,
        ...traceFields(span),
      };
      if (QUIET.has(ctx.path)) options.log.debug(line, 'request');
      else options.log.info(line, 'request');
    }
  };
};
